# req/s per nginx scenario, 1 worker (nginx core 0, wrk core 1) and
# 2 workers (nginx cores 0-1, sharing core 1 with wrk).
# gnuplot -e "datafile='x.dat'; outfile='latest.png'" bench/chart.gp
set terminal pngcairo size 900,520 font ",11" noenhanced
set output outfile
set title "lua-resty-supertokens: /api/user vs baselines (wrk -c32, req/s)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "requests/s"
set yrange [0:*]
set grid ytics
set key top right
set xtics nomirror
plot datafile using 2:xtic(1) title "1 worker" lc rgb "#3465a4", \
     '' using 3 title "2 workers (shared cores)" lc rgb "#f57900", \
     '' using 0:2:(sprintf("%.0f", $2)) with labels offset -2.2,0.7 \
        notitle, \
     '' using 0:3:(sprintf("%.0f", $3)) with labels offset 2.2,0.7 notitle
