#!/usr/bin/env bash
# Real years: two measured households, a balcony PV series and 2024's German day-ahead
# prices (bench/data/, sources in bench/data/SOURCES) replayed through every strategy with
# `balkonsolard simulate --db`, and compared with an independent whole-year perfect-foresight
# LP of the same physics (bench/real_year.mod, solved by glpsol from glpk-utils).
#
#   bench/real_years.sh [BUILD_DIR]     (default build-rel: a Release build)
#
# For each household (a flat, 1.7 MWh/a; a single-family house, 3.5 MWh/a), each tariff
# (dynamic: (day-ahead + 0.17 EUR/kWh charges) x 1.19 VAT per hour; flat: that price's mean
# over the year) and each battery (2.24 and 5 kWh usable, AC-coupled, 800 W, 95 %/95 %, wear
# 0.03 EUR/kWh, no grid charging, feed-in unpaid) it builds the database with
# bench_real_db (the store's own append/flush and prices_put: the paths the recorder and a
# price provider write through; `balkonsolard import` will be the user's way in), replays
# 2024-01-01 to 2024-12-30 and prints each strategy's saving against no battery, its share of
# the LP's saving, and the time per plan. Needs python3 and glpsol. Figures in
# bench/README.md ("Real years") and docs/replay.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build-rel}" && pwd)"
for tool in "$build/balkonsolard" "$build/bench/bench_real_db"; do
  [[ -x "$tool" ]] || { echo "real_years: $tool is missing (cmake --build $build)" >&2; exit 1; }
done
command -v glpsol >/dev/null || { echo "real_years: needs glpsol (apt-get install glpk-utils)" >&2; exit 1; }
work="$(mktemp -d /tmp/balkon-real-years.XXXXXX)"
trap 'rm -rf "$work"' EXIT

ROOT="$root" BUILD="$build" WORK="$work" python3 - <<'EOF'
import concurrent.futures as cf, json, os, re, subprocess, time

root, build, work = os.environ['ROOT'], os.environ['BUILD'], os.environ['WORK']
data = f'{root}/bench/data'
HOURS, REF = 8760, 8760          # replayed: 365 days from 2024-01-01 00:00 CET
CHARGES, VAT = 0.17, 19.0
BATTERY = dict(max_charge_w=800, max_discharge_w=800, charge_efficiency_pct=95,
               discharge_efficiency_pct=95, soc_min_pct=0, soc_max_pct=100, coupling='ac')
WEAR, CAP, PV_KWP = 0.03, 800, 0.89
HOUSEHOLDS = [('flat', 1700), ('house', 3500)]

def column(name, col):
    rows = [l for l in open(f'{data}/{name}') if not l.startswith('#')][1:]
    return [float(r.split(',')[col]) for r in rows]

load_ref = {'flat': column('households.csv', 1), 'house': column('households.csv', 2)}
pv_ref = column('pv_potsdam.csv', 1)
spot = column('prices_de_lu_2024.csv', 1)
dynamic = [(p / 1000 + CHARGES) * (1 + VAT / 100) for p in spot]
flat_price = sum(dynamic[:HOURS]) / HOURS

def series(kind, kwh):   # as bench_real_db maps the reference years onto 2024
    load = [load_ref[kind][(h + 144) % REF] * kwh / 1000 for h in range(HOURS)]
    pv = [pv_ref[h] * PV_KWP for h in range(HOURS)]
    return load, pv

def lp(load, pv, prices, capacity):
    dat = f'{work}/lp_{os.getpid()}_{time.monotonic_ns()}.dat'
    with open(dat, 'w') as f:
        f.write(f'data;\nparam T := {HOURS};\nparam dt := 1;\nparam cap := {CAP};\n'
                f'param capacity := {capacity};\nparam max_c := 800;\nparam max_d := 800;\n'
                f'param eta_c := 0.95;\nparam eta_d := 0.95;\nparam wear := {WEAR};\n'
                f'param feed_in := 0;\n')
        for name, values in (('pv', pv), ('load', load), ('price', prices)):
            f.write(f'param {name} :=\n' + '\n'.join(f'{t + 1} {v:.6f}' for t, v in enumerate(values)) + ';\n')
        f.write('end;\n')
    started = time.monotonic()
    out = subprocess.run(['glpsol', '--math', f'{root}/bench/real_year.mod', '--data', dat],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r'LP_COST (\S+)', out)
    if not m:
        raise SystemExit(f'glpsol gave no cost:\n{out[-2000:]}')
    return float(m.group(1)), time.monotonic() - started

def replay(kind, kwh, tariff, capacity):
    tag = f'{kind}_{tariff}_{capacity}'
    db = f'{work}/{tag}.db'
    args = [f'{build}/bench/bench_real_db', '--data', data, '--out', db, '--load', kind,
            '--annual-kwh', str(kwh), '--pv-kwp', str(PV_KWP)]
    if tariff == 'dynamic':
        args += ['--provider', 'dayahead', '--charges-per-kwh', str(CHARGES), '--vat-pct', str(VAT)]
    subprocess.run(args, capture_output=True, check=True)
    config = {
        'site': {'name': tag, 'latitude': 52.39, 'longitude': 13.06, 'timezone': 'Europe/Berlin'},
        'pv': {'planes': [{'name': 'south', 'tilt': 35, 'azimuth': 0, 'peak_w': PV_KWP * 1000}]},
        'inverter': {'ac_limit_w': CAP},
        'battery': dict(BATTERY, capacity_wh=capacity),
        'household': {'annual_kwh': kwh},
        'providers': [{'id': 'dayahead', 'type': 'awattar'}] if tariff == 'dynamic' else [],
        'tariff': {'import_per_kwh': round(flat_price, 5), 'feed_in_per_kwh': 0},
        'optimizer': {'wear_cost_per_kwh': WEAR},
    }
    with open(f'{work}/{tag}.json', 'w') as f:
        json.dump(config, f)
    out = subprocess.run([f'{build}/balkonsolard', 'simulate', '--config', f'{work}/{tag}.json',
                          '--db', db, '--from', '2024-01-01', '--days', '365'],
                         capture_output=True, text=True, check=True).stdout
    saved, ms = {}, {}
    for line in out.splitlines():
        m = re.match(r'(self_consumption|optimal|perfect_foresight)\s+-?[\d.]+\s+(-?[\d.]+)\s', line)
        if m:
            saved[m.group(1)] = float(m.group(2))
        m = re.match(r'(optimal|perfect_foresight): (\d+) plans, (\S+) ms each', line)
        if m:
            ms[m.group(1)] = float(m.group(3))
    load, pv = series(kind, kwh)
    prices = dynamic[:HOURS] if tariff == 'dynamic' else [flat_price] * HOURS
    lp_battery, lp_s = lp(load, pv, prices, capacity)
    lp_none, _ = lp(load, pv, prices, 0)
    slots = re.search(r': (\d+) slots of 15 minutes', out).group(1)
    return dict(kind=kind, kwh=kwh, tariff=tariff, capacity=capacity, saved=saved, ms=ms,
                lp=lp_none - lp_battery, lp_s=lp_s, slots=slots)

cases = [(k, kwh, t, c) for k, kwh in HOUSEHOLDS for t in ('dynamic', 'flat') for c in (2240, 5000)]
print(f'dynamic tariff: (day-ahead + {CHARGES:.2f}) x {1 + VAT / 100:.2f}, mean {flat_price:.4f} EUR/kWh; '
      f'flat tariff: {flat_price:.4f} EUR/kWh; feed-in 0')
print(f'{"household":>15} {"tariff":>8} {"battery":>8} | {"LP":>7} | {"self_cons.":>16} {"optimal":>16} '
      f'{"perfect_fore.":>16} | {"plan ms":>7}')
with cf.ThreadPoolExecutor(max_workers=2) as pool:
    for r in pool.map(lambda c: replay(*c), cases):
        cells = []
        for s in ('self_consumption', 'optimal', 'perfect_foresight'):
            v = r['saved'].get(s, float('nan'))
            cells.append(f'{v:7.2f} ({100 * v / r["lp"]:5.1f} %)')
        print(f'{r["kind"] + " " + str(r["kwh"]) + " kWh":>15} {r["tariff"]:>8} {r["capacity"]:>5} Wh | '
              f'{r["lp"]:7.2f} | {" ".join(cells)} | {r["ms"].get("optimal", float("nan")):7.2f}'
              f'   ({r["slots"]} slots, LP {r["lp_s"]:.1f} s)', flush=True)
print('saved = EUR per year against no battery; (share of the whole-year LP\'s saving); '
      'plan ms = CPU per optimal plan')
EOF
