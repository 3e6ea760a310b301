std = "ngx_lua"
unused_args = false
redefined = false
max_line_length = 80
globals = { "kong" }
exclude_files = { "spec/conformance/node_modules", "build" }
files["spec/**/*.lua"] = { std = "ngx_lua+busted", max_line_length = 100 }
files["bin/stjwt"] = { std = "luajit" }
files["bench/**/*.lua"] = { max_line_length = 100 }
