#!/usr/bin/env python3
"""Generate an OpenFOAM v1912 case for a raised-floor room described by a geometry JSON.
usage: gencase.py CASEDIR DX DY DZ GEOM.json NITER [TILEFACTOR]
Generalised (dctwin issue 18): a row may give its own rack height "h" and "skip" (positions left empty,
a gap in the row); the face velocity follows each rack's height and its "face" (not the row number);
"blocks" are extra solid boxes cut out of the mesh like the racks (containment panels, doors).
"""
import sys, os, json

case, dx, dy, dz, geomf, niter = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
G = json.load(open(geomf))
tilefac = float(sys.argv[7]) if len(sys.argv) > 7 else G['tile_factor']
LX, LY, LZ = G['room']['x'], G['room']['y'], G['room']['z']
nx, ny, nz = round(LX/dx), round(LY/dy), round(LZ/dz)
for L, d, n in ((LX, dx, nx), (LY, dy, ny), (LZ, dz, nz)):
    assert abs(n*d - L) < 1e-6, 'room not a multiple of the cell size'
Q = G['q_rack']
W, D, H = G['rack_size']['w'], G['rack_size']['d'], G['rack_size']['h']
racks = []
for rw in G['rows']:
    for k in range(rw['n']):
        x0 = round(rw['x0'] + W*k, 6)
        if k in rw.get('skip', ()):
            continue
        racks.append(dict(id=len(racks)+1, row=rw['row'], x0=x0, x1=round(x0+W, 6), y0=rw['y0'], y1=rw['y1'], z0=0.0, z1=rw.get('h', H), face=rw['face']))
BLOCKS = G.get('blocks', [])
TILES = G['tiles']
RET = G['crah_return']
tileflow = tilefac*Q*len(racks)
tileflows = [tileflow*f for f in G['tile_split']]
v = Q/(W*H)
# every patch edge must fall on a grid line
def ongrid(a, d): return abs(a/d - round(a/d)) < 1e-6
for rk in racks:
    assert all(ongrid(rk[k], dx) for k in ('x0', 'x1')) and all(ongrid(rk[k], dy) for k in ('y0', 'y1')) and ongrid(rk['z1'], dz), rk
for b in BLOCKS:
    assert all(ongrid(b[k], dx) for k in ('x0', 'x1')) and all(ongrid(b[k], dy) for k in ('y0', 'y1')) and all(ongrid(b[k], dz) for k in ('z0', 'z1')), b
for t in TILES + [RET]:
    assert all(ongrid(t[k], dx) for k in ('x0', 'x1')) and all(ongrid(t[k], dy) for k in ('y0', 'y1')), t

HDR = """FoamFile
{
    version     2.0;
    format      ascii;
    class       %s;
    object      %s;
}
"""
def w(path, cls, obj, body):
    p = os.path.join(case, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'w') as f:
        f.write(HDR % (cls, obj) + body)

def fmt(x): return ('%.6f' % x).rstrip('0').rstrip('.')

# ---------------- blockMesh
w('system/blockMeshDict', 'dictionary', 'blockMeshDict', f"""
convertToMeters 1;
vertices
(
 (0 0 0) ({LX} 0 0) ({LX} {LY} 0) (0 {LY} 0)
 (0 0 {LZ}) ({LX} 0 {LZ}) ({LX} {LY} {LZ}) (0 {LY} {LZ})
);
blocks ( hex (0 1 2 3 4 5 6 7) ({nx} {ny} {nz}) simpleGrading (1 1 1) );
edges ();
boundary
(
  floor   {{ type wall; faces ((0 3 2 1)); }}
  ceiling {{ type wall; faces ((4 5 6 7)); }}
  walls   {{ type wall; faces ((0 1 5 4) (1 2 6 5) (2 3 7 6) (3 0 4 7)); }}
  rackWall {{ type wall; faces (); }}
);
mergePatchPairs ();
""")

# ---------------- topoSet: rack cells -> fluid set
acts = []
for i, rk in enumerate(racks):
    acts.append(f"""  {{ name rackCells; type cellSet; action {'new' if i==0 else 'add'}; source boxToCell;
    sourceInfo {{ box ({fmt(rk['x0'])} {fmt(rk['y0'])} 0) ({fmt(rk['x1'])} {fmt(rk['y1'])} {fmt(rk['z1'])}); }} }}""")
for b in BLOCKS:
    acts.append(f"""  {{ name rackCells; type cellSet; action add; source boxToCell;
    sourceInfo {{ box ({fmt(b['x0'])} {fmt(b['y0'])} {fmt(b['z0'])}) ({fmt(b['x1'])} {fmt(b['y1'])} {fmt(b['z1'])}); }} }}""")
acts.append("  { name fluid; type cellSet; action new; source cellToCell; sourceInfo { set rackCells; } }")
acts.append("  { name fluid; type cellSet; action invert; }")
w('system/topoSetDict.cells', 'dictionary', 'topoSetDict', "actions\n(\n" + "\n".join(acts) + "\n);\n")

# ---------------- topoSet: face sets for patches
e = 1e-3
acts = []
def boxface(name, lo, hi):
    acts.append(f"  {{ name {name}; type faceSet; action new; source boxToFace; sourceInfo {{ box ({' '.join(fmt(a) for a in lo)}) ({' '.join(fmt(a) for a in hi)}); }} }}")
for rk in racks:
    yf = rk['y1'] if rk['face'] == '+y' else rk['y0']
    yb = rk['y0'] if rk['face'] == '+y' else rk['y1']
    boxface('rack%02d_front' % rk['id'], (rk['x0']+e, yf-0.01, e), (rk['x1']-e, yf+0.01, rk['z1']-e))
    boxface('rack%02d_back' % rk['id'], (rk['x0']+e, yb-0.01, e), (rk['x1']-e, yb+0.01, rk['z1']-e))
for t in TILES:
    boxface(t['name'] + 'Faces', (t['x0']+e, t['y0']+e, -0.01), (t['x1']-e, t['y1']-e, 0.01))
boxface('returnFaces', (RET['x0']+e, RET['y0']+e, LZ-0.01), (RET['x1']-e, RET['y1']-e, LZ+0.01))
w('system/topoSetDict.faces', 'dictionary', 'topoSetDict', "actions\n(\n" + "\n".join(acts) + "\n);\n")

# ---------------- createPatch
pl = []
for rk in racks:
    for s in ('front', 'back'):
        n = 'rack%02d_%s' % (rk['id'], s)
        pl.append(f"  {{ name {n}; patchInfo {{ type patch; }} constructFrom set; set {n}; }}")
for t in TILES:
    pl.append("  { name %s; patchInfo { type patch; } constructFrom set; set %sFaces; }" % (t['name'], t['name']))
pl.append("  { name crah_return; patchInfo { type patch; } constructFrom set; set returnFaces; }")
w('system/createPatchDict', 'dictionary', 'createPatchDict', "pointSync false;\npatches\n(\n" + "\n".join(pl) + "\n);\n")

# ---------------- controlDict
w('system/controlDict', 'dictionary', 'controlDict', f"""
application     simpleFoam;
startFrom       latestTime;
startTime       0;
stopAt          endTime;
endTime         {niter};
deltaT          1;
writeControl    timeStep;
writeInterval   500;
purgeWrite      1;
writeFormat     binary;
writePrecision  10;
writeCompression off;
timeFormat      general;
timePrecision   6;
runTimeModifiable true;
functions
{{
  probesU
  {{
    type probes; libs ("libsampling.so"); writeControl timeStep; writeInterval 10;
    fields (U p k);
    probeLocations ( {' '.join('(%g %g %g)' % tuple(pp) for pp in G['probes'])} );
  }}
  avg
  {{
    type fieldAverage; libs ("libfieldFunctionObjects.so");
    timeStart {niter//3}; writeControl writeTime; restartOnRestart false; restartOnOutput false;
    fields
    (
      U {{ mean on; prime2Mean off; base iteration; }}
      phi {{ mean on; prime2Mean off; base iteration; }}
      k {{ mean on; prime2Mean off; base iteration; }}
      epsilon {{ mean on; prime2Mean off; base iteration; }}
    );
  }}
  returnFlow
  {{
    type surfaceFieldValue; libs ("libfieldFunctionObjects.so"); writeControl timeStep; writeInterval 10;
    log false; writeFields false; regionType patch; name crah_return; operation sum; fields (phi);
  }}
}}
""")

w('system/fvSchemes', 'dictionary', 'fvSchemes', """
ddtSchemes { default steadyState; }
gradSchemes { default Gauss linear; }
divSchemes
{
    default         none;
    div(phi,U)      bounded Gauss linearUpwind grad(U);
    div(phi,k)      bounded Gauss upwind;
    div(phi,epsilon) bounded Gauss upwind;
    div(phi,S)      bounded Gauss linearUpwind grad(S);
    div((nuEff*dev2(T(grad(U))))) Gauss linear;
}
laplacianSchemes { default Gauss linear corrected; }
interpolationSchemes { default linear; }
snGradSchemes { default corrected; }
wallDist { method meshWave; }
""")

w('system/fvSolution', 'dictionary', 'fvSolution', """
solvers
{
    p { solver GAMG; smoother GaussSeidel; tolerance 1e-7; relTol 0.01; }
    "(U|k|epsilon)" { solver smoothSolver; smoother symGaussSeidel; tolerance 1e-8; relTol 0.1; }
    S { solver PBiCGStab; preconditioner DILU; tolerance 1e-10; relTol 0; maxIter 3000; }
}
SIMPLE
{
    nNonOrthogonalCorrectors 0;
    consistent yes;
    residualControl { p 1e-5; U 1e-6; "(k|epsilon)" 1e-6; }
}
relaxationFactors
{
    equations { U 0.7; "(k|epsilon)" 0.6; }
    fields { p 1.0; }
}
""")

w('system/decomposeParDict', 'dictionary', 'decomposeParDict', "numberOfSubdomains 2;\nmethod scotch;\n")
w('constant/transportProperties', 'dictionary', 'transportProperties', "transportModel Newtonian;\nnu 1.5e-05;\n")
w('constant/turbulenceProperties', 'dictionary', 'turbulenceProperties', "simulationType RAS;\nRAS { RASModel kEpsilon; turbulence on; printCoeffs on; }\n")

# ---------------- initial fields
def bfield(entries): return "boundaryField\n{\n" + "".join(f"    {n}\n    {{\n{b}    }}\n" for n, b in entries) + "}\n"
wallsP = ['floor', 'ceiling', 'walls', 'rackWall']
# U
ent = [(n, "        type noSlip;\n") for n in wallsP]
for rk in racks:
    s = -1 if rk['face'] == '+y' else 1
    vr = Q/(W*(rk['z1']-rk['z0']))
    rk['face_velocity'] = vr
    for side in ('front', 'back'):
        ent.append(('rack%02d_%s' % (rk['id'], side), f"        type fixedValue;\n        value uniform (0 {fmt(s*vr)} 0);\n"))
for t, qt in zip(TILES, tileflows):
    ent.append((t['name'], f"        type flowRateInletVelocity;\n        volumetricFlowRate constant {fmt(qt)};\n        extrapolateProfile false;\n        value uniform (0 0 0);\n"))
ent.append(('crah_return', "        type inletOutlet;\n        inletValue uniform (0 0 0);\n        value uniform (0 0 0);\n"))
w('0.orig/U', 'volVectorField', 'U', "dimensions [0 1 -1 0 0 0 0];\ninternalField uniform (0 0 0);\n" + bfield(ent))
# p
ent = [(n, "        type zeroGradient;\n") for n in wallsP]
for rk in racks:
    for side in ('front', 'back'):
        ent.append(('rack%02d_%s' % (rk['id'], side), "        type zeroGradient;\n"))
for t in TILES:
    ent.append((t['name'], "        type zeroGradient;\n"))
ent.append(('crah_return', "        type fixedValue;\n        value uniform 0;\n"))
w('0.orig/p', 'volScalarField', 'p', "dimensions [0 2 -2 0 0 0 0];\ninternalField uniform 0;\n" + bfield(ent))
# k, epsilon, nut
k0, e0 = 0.01, 0.005
for fld, dims, wallbc, inbc, init in [
    ('k', '[0 2 -2 0 0 0 0]', 'kqRWallFunction', "        type turbulentIntensityKineticEnergyInlet;\n        intensity 0.05;\n        value uniform %g;\n" % k0, k0),
    ('epsilon', '[0 2 -3 0 0 0 0]', 'epsilonWallFunction', "        type turbulentMixingLengthDissipationRateInlet;\n        mixingLength 0.06;\n        value uniform %g;\n" % e0, e0)]:
    ent = [(n, f"        type {wallbc};\n        value uniform {init};\n") for n in wallsP]
    for rk in racks:
        ent.append(('rack%02d_front' % rk['id'], "        type zeroGradient;\n"))
        ent.append(('rack%02d_back' % rk['id'], inbc))
    for t in TILES:
        ent.append((t['name'], inbc))
    ent.append(('crah_return', f"        type inletOutlet;\n        inletValue uniform {init};\n        value uniform {init};\n"))
    w('0.orig/' + fld, 'volScalarField', fld, f"dimensions {dims};\ninternalField uniform {init};\n" + bfield(ent))
ent = [(n, "        type nutkWallFunction;\n        value uniform 0;\n") for n in wallsP]
ent += [('".*"', "        type calculated;\n        value uniform 0;\n")]
w('0.orig/nut', 'volScalarField', 'nut', "dimensions [0 2 -1 0 0 0 0];\ninternalField uniform 0;\n" + bfield(ent))

meta = dict(room=dict(x=LX, y=LY, z=LZ), mesh=dict(dx=dx, dy=dy, dz=dz, nx=nx, ny=ny, nz=nz), q_rack=Q, rack_face_velocity=v,
            tile_factor=tilefac, tile_flow_total=tileflow, tile_flows=tileflows, racks=racks, blocks=BLOCKS, tiles=TILES, crah_return=RET, niter=niter, geom=G)
with open(os.path.join(case, 'case_meta.json'), 'w') as f: json.dump(meta, f, indent=1)
print('generated', case, nx, ny, nz)
