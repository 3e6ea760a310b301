# Sourced by Pongo (bash) when its Kong container starts; the repository is
# mounted at /kong-plugin.  NOT RUN HERE: Kong/Pongo/Docker are not
# available on the machine this repository is developed on.
#
# Builds libstjwt.so against the OpenSSL Kong itself links (its own copy
# under /usr/local/kong) and installs the Lua modules, the Kong plugin
# (kong.plugins.supertokens.*) and the .so into Kong's rocks tree.
cd /kong-plugin || return 1
luarocks make --force rockspec/lua-resty-supertokens-scm-1.rockspec \
    OPENSSL_DIR=/usr/local/kong CRYPTO_DIR=/usr/local/kong
