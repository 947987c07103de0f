#!/bin/bash
# session 23 (s23-rowend): the held-out room l_end_gap at one mesh, run in /work/cfd:
#   bash run_l.sh m1 0.15 0.15      # first mesh: writes runs/l_end_gap_m1.json
#   bash run_l.sh m2b 0.2 0.2       # second mesh: writes runs/l_end_gap_with_m2.json (its sensitivity)
cd /work/cfd/runs
T=/work/cfd/tools; S=/work/shared/validation/openfoam-tools
m=$1; c=l_end_gap_$m
echo "$(date +%T) start $c" >> ../progress.log
rm -rf $c
python3 $T/gencase.py $c $2 $3 0.2 ../geom/l_end_gap.json 1500 >> ../progress.log 2>&1 && bash $S/mesh.sh $c && grep -q "Mesh OK" $c/log.checkMesh || { echo "mesh failed $c" >> ../progress.log; exit 1; }
nice -n 19 bash $S/runflow.sh $c
nice -n 19 python3 $S/runscalar.py $c turb >> ../progress.log 2>&1
if [ "$m" = m1 ]; then out=(l_end_gap_m1 turb $c.json); else out=(l_end_gap_m1 turb l_end_gap_with_m2.json $c:turb:l_end_gap_m1:turb); fi
nice -n 19 python3 $T/analyze.py "${out[@]}" >> ../progress.log 2>&1 && touch $c/done
echo "$(date +%T) end $c $(cat $c/time.simpleFoam)" >> ../progress.log
