#!/bin/bash
# session 23 (s23-rowend): one new held-out room, l_end_gap, 0.15 x 0.15 x 0.2 m
cd /work/cfd/runs
T=/work/cfd/tools; S=/work/shared/validation/openfoam-tools
c=l_end_gap_m1
echo "$(date +%T) start $c" >> ../progress.log
rm -rf $c
python3 $T/gencase.py $c 0.15 0.15 0.2 ../geom/l_end_gap.json 1500 >> ../progress.log 2>&1 && bash $S/mesh.sh $c && grep -q "Mesh OK" $c/log.checkMesh || { echo "mesh failed $c" >> ../progress.log; exit 1; }
nice -n 19 bash $S/runflow.sh $c
nice -n 19 python3 $S/runscalar.py $c turb >> ../progress.log 2>&1
nice -n 19 python3 $T/analyze.py $c turb $c.json >> ../progress.log 2>&1 && touch $c/done
echo "$(date +%T) end $c $(cat $c/time.simpleFoam)" >> ../progress.log
