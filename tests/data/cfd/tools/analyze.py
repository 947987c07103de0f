#!/usr/bin/env python3
"""Build case JSON from a scalar run.
usage: analyze.py CASE TAG OUTJSON [case:tag[:refcase:reftag] ...]   (extra specs = sensitivity runs)
Power cases are read from CASE/case_meta.json -> geom.power_cases_kW (kW per rack, ordered by rack id)."""
import sys, json, os, re
import numpy as np
rho, cp, Tsup = 1.19, 1006.0, 18.0
def temps(F, P, Q):
    F = np.array(F); n = F.shape[1]
    F0 = F[0]; A = F[1:].T          # A[i,j]: fraction of rack j exhaust in rack i inlet
    dT = np.array(P) / (rho*cp*Q)
    Tin = np.linalg.solve(np.eye(n) - A, F0*Tsup + A @ dT)
    return Tin, Tin + dT, dT
def load(case, tag): return json.load(open(os.path.join(case, 'scal_' + tag, 'F.json')))
def flowtime(case):
    try: return int(open(os.path.join(case, 'time.simpleFoam')).read().split(':')[1])
    except Exception: return None
def cputime(case):
    try: return float(re.findall(r'ExecutionTime = ([\d.]+) s', open(os.path.join(case, 'log.simpleFoam')).read())[-1])
    except Exception: return None
case, tag, out = sys.argv[1], sys.argv[2], sys.argv[3]
meta = json.load(open(os.path.join(case, 'case_meta.json')))
G = meta['geom']
r = load(case, tag)
Q = meta['q_rack']
nr = len(meta['racks'])
powers = {k: [1000.0*x for x in v] for k, v in G['power_cases_kW'].items()}
res = {}
for k, P in powers.items():
    Tin, Tex, dT = temps(r['F'], P, Q)
    res[k] = dict(P_W=P, rack_dT_K=[round(x, 4) for x in dT], T_inlet_C=[round(x, 3) for x in Tin], T_exhaust_C=[round(x, 3) for x in Tex])
    rf = [r['return_fractions']['supply']] + [r['return_fractions']['rack%02d' % rk['id']] for rk in meta['racks']]
    res[k]['T_return_C'] = round(rf[0]*Tsup + sum(rf[j+1]*Tex[j] for j in range(nr)), 3)
    res[k]['T_return_energy_balance_C'] = round(Tsup + sum(P)/(rho*cp*meta['tile_flow_total']), 3)
racks = [dict(id=rk['id'], row=rk['row'], x=rk['x0'], y=rk['y0'], z=0.0, w=round(rk['x1']-rk['x0'], 3), d=round(rk['y1']-rk['y0'], 3), h=rk['z1'], face=rk['face'], face_velocity_ms=round(rk.get('face_velocity', meta['rack_face_velocity']), 5),
              front_face_plane_y=(rk['y1'] if rk['face'] == '+y' else rk['y0'])) for rk in meta['racks']]
tiles = [dict(name=t['name'], x0=t['x0'], x1=t['x1'], y0=t['y0'], y1=t['y1'], z=t['z'], flow_m3s=round(qt, 6),
              velocity_ms=round(qt/((t['x1']-t['x0'])*(t['y1']-t['y0'])), 5), note=t.get('note', '')) for t, qt in zip(meta['tiles'], meta['tile_flows'])]
ret = dict(meta['crah_return']); ret['note'] = 'ceiling outlet, p=0, U inletOutlet'
L = meta['room']
doc = dict(
    description='OpenFOAM v1912 steady RANS (simpleFoam, k-epsilon) + passive-scalar superposition; see README.md',
    case_name=G['name'],
    geometry=dict(room=dict(x0=0, y0=0, z0=0, lx=L['x'], ly=L['y'], lz=L['z']), units='m; rack x,y,z = min corner',
                  racks=racks, tiles=tiles, crah_return=ret, blocks=meta.get('blocks', [])),
    mesh=meta['mesh'], q_rack_m3s=Q, rack_face_velocity_ms=meta['rack_face_velocity'], tile_flow_total_m3s=meta['tile_flow_total'],
    tile_factor=meta['tile_factor'], tile_velocity_ms=tiles[0]['velocity_ms'],
    flow=r['flow'], diffusivity=r['diffusivity'], flow_iterations=meta['niter'], averaging_window_iterations=[meta['niter']//3, meta['niter']],
    matrix=dict(row_labels=r['row_labels'], col_labels=r['col_labels'],
                meaning='F[row][col] = flow-weighted mean scalar on inlet (front) face of rack col when source row has scalar 1 and all other inflows 0 (row 0 = both tile lines together)',
                F=[[round(x, 5) for x in row] for row in r['F']], column_sums=[round(x, 6) for x in r['column_sums']]),
    return_fractions=r['return_fractions'], return_sum_phi_m3s=r['return_sum_phi'], return_min_face_phi=r['return_min_phi'],
    temperatures=dict(T_supply_C=Tsup, rho=rho, cp=cp, cases=res),
    scalar_solver_residuals_first_last=r['scalar_residual_first_last'],
    run_times_s=dict(simpleFoam_wall=flowtime(case), simpleFoam_cpu=cputime(case), scalar_solves_wall=round(r['wall_seconds'], 1),
                     note='2-core machine shared with 2 other CPU-bound jobs; wall times are pessimistic'))
sens = {}
for spec in sys.argv[4:]:
    parts = spec.split(':')
    c, t = parts[0], parts[1]
    rr = load(c, t)
    ref = load(parts[2], parts[3]) if len(parts) == 4 else r
    refname = (parts[2] + ':' + parts[3]) if len(parts) == 4 else (case + ':' + tag)
    m2 = json.load(open(os.path.join(c, 'case_meta.json')))
    e = dict(case=c, tag=t, mesh=m2['mesh'], flow_iterations=m2['niter'], flow=rr['flow'], diffusivity=rr['diffusivity'], supply_fraction=[round(x, 4) for x in rr['F'][0]],
             column_sums=[round(x, 5) for x in rr['column_sums']], compared_to=refname, max_abs_dF=round(float(np.max(np.abs(np.array(rr['F']) - np.array(ref['F'])))), 4),
             max_abs_d_supply_fraction=round(float(np.max(np.abs(np.array(rr['F'][0]) - np.array(ref['F'][0])))), 4),
             F=[[round(x, 5) for x in row] for row in rr['F']], return_fractions=rr['return_fractions'],
             run_times_s=dict(simpleFoam_wall=flowtime(c), scalar_solves_wall=round(rr['wall_seconds'], 1)))
    for k, P in powers.items():
        e['T_inlet_C_' + k] = [round(x, 2) for x in temps(rr['F'], P, m2['q_rack'])[0]]
    for k, P in powers.items():
        e['max_abs_dTin_K_' + k] = round(float(np.max(np.abs(temps(rr['F'], P, m2['q_rack'])[0] - temps(ref['F'], P, m2['q_rack'])[0]))), 2)
    sens[spec] = e
doc['sensitivity'] = sens
json.dump(doc, open(out, 'w'), indent=1)
print(out)
print('supply  ', ' '.join('%.3f' % x for x in r['F'][0]))
print('colsums ', ' '.join('%.4f' % x for x in r['column_sums']))
print('return  ', ' '.join('%s=%.3f' % (k, v) for k, v in r['return_fractions'].items()), 'sum_phi %.4f minphi %.2e' % (r['return_sum_phi'], r['return_min_phi']))
for k in res: print(k, 'Tin', ' '.join('%.2f' % x for x in res[k]['T_inlet_C']), ' Tret %.2f (balance %.2f)' % (res[k]['T_return_C'], res[k]['T_return_energy_balance_C']))
ks = list(powers)
for s, e in sens.items(): print(s, 'vs', e['compared_to'], 'maxdF %.3f dsup %.3f dTin %s' % (e['max_abs_dF'], e['max_abs_d_supply_fraction'], '/'.join('%.2f' % e['max_abs_dTin_K_' + k] for k in ks)), 'supply', ' '.join('%.3f' % x for x in e['supply_fraction']), '| Tin0', ' '.join('%.1f' % x for x in e['T_inlet_C_' + ks[0]]))
