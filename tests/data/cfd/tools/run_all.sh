#!/bin/bash
# every new room at two meshes, one at a time (nice 19)
cd /work/cfd/runs
T=/work/cfd/tools
for spec in "m1 0.15 0.15 0.2" "m2 0.2 0.2 0.1"; do
  set -- $spec; m=$1; dx=$2; dy=$3; dz=$4
  for r in g_short_rows k_contained h_long_rows i_mixed_heights j_gaps; do
    c=${r}_$m
    [ -f $c/done ] && continue
    echo "$(date +%T) start $c" >> ../progress.log
    rm -rf $c
    python3 $T/gencase.py $c $dx $dy $dz ../geom/$r.json 1500 >> ../progress.log 2>&1 && bash $T/mesh.sh $c && grep -q "Mesh OK" $c/log.checkMesh || { echo "mesh failed $c" >> ../progress.log; continue; }
    nice -n 19 bash $T/runflow.sh $c
    nice -n 19 python3 $T/runscalar.py $c turb >> ../progress.log 2>&1
    nice -n 19 python3 $T/analyze.py $c turb $c.json >> ../progress.log 2>&1 && touch $c/done
    echo "$(date +%T) end $c $(cat $c/time.simpleFoam)" >> ../progress.log
  done
done
