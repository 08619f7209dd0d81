#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into tests/fuzz/corpus/<target>/ from the provider
fixtures (tests/fixtures/providers/), the shipped configs (config/) and hand-made replies
and bodies below. Each seed starts with the selector bytes its target reads (see the
targets' headers). Rerun after adding a fixture or a driver:  tests/fuzz/make_corpus.py"""
import glob
import hashlib
import json
import os
import shutil

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
corpus = os.path.join(here, "corpus")


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(corpus, target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def providers():
    # The order of providers_list.h, keeping those with a parse function (fuzz_providers.c).
    listed = []
    for line in open(os.path.join(root, "src/providers/providers_list.h")):
        if line.startswith("BALKON_PROVIDER(balkon_provider_"):
            listed.append(line.split("balkon_provider_")[1].split(")")[0])
    parsers = [p for p in listed
               if ".parse =" in open(os.path.join(root, "src/providers", p + ".c")).read()]
    fixtures = os.path.join(root, "tests/fixtures/providers")
    for index, provider in enumerate(parsers):
        for case in sorted(glob.glob(os.path.join(fixtures, provider, "*"))):
            for body in sorted(glob.glob(os.path.join(case, "response.*")) + glob.glob(os.path.join(case, "page*.json"))):
                data = open(body, "rb").read()
                write("fuzz_providers", bytes([index, 0]) + data)


def configs():
    for path in sorted(glob.glob(os.path.join(root, "config/*.json"))):
        write("fuzz_config", open(path, "rb").read())
    for text in [
        "{}",
        '// a comment\n{ "site": { "latitude": 52.5, "longitude": 13.4, "timezone": "Europe/Berlin" } }',
        '{"battery": {"capacity_wh": -1}, "inverter": {"ac_limit_w": "800"}}',
        '{"devices": [{"id": "grid", "type": "shelly_gen2", "host": "192.168.1.50"}, '
        '{"id": "dtu", "type": "opendtu", "host": "10.0.0.2", "serial": "116180000001", "role": "inverter"}]}',
        '{"providers": [{"id": "p", "type": "awattar", "area": "AT"}, {"id": "t", "type": "tibber", "token": "x"}, '
        '{"id": "tou", "type": "tou", "zones": [{"days": "mon-fri", "from": "06:00", "to": "22:00", "price_per_kwh": 0.3}]}]}',
        '{"notify": {"channels": [{"id": "n", "type": "ntfy", "url": "https://ntfy.sh/x"}]}, "mqtt": {"enabled": true, "host": "broker"}}',
        '{"loads": [{"id": "l", "plug": "p", "mode": "cheap", "power_w": 300, "run_min": 60, "latest": "20:00"}]}',
    ]:
        write("fuzz_config", text)


def api_bodies():
    for kind, body in [
        (0, '{"command": "setpoint", "value": 300}'), (0, '{"command": "switch", "value": 1}'),
        (0, '{"command": "auto"}'), (0, '{"command": "limit", "value": 1e308}'), (0, "[]"),
        (1, '{"state": "on", "duration_min": 60}'), (1, '{"state": "auto", "duration_min": null}'),
        (1, '{"state": "off"}'),
        (2, '{"strategy": "optimal"}'), (2, '{"strategy": "fixed_schedule"}'), (2, '{"strategy": 1}'),
        (3, '{"site": {"name": "x"}, "providers": [{"id": "t", "type": "tibber", "token": "***"}]}'),
        (3, "not json"),
        (4, '{"password": "correct horse battery"}'), (4, '{"password": ""}'), (4, '{"password": 7}'),
        (5, '{"setup_code": "abcdefghjkmn", "password": "correct horse battery"}'),
        (5, '{"setup_code": "x", "password": "short"}'),
        (6, '{"current_password": "old password", "new_password": "new password"}'),
        (6, '{"current_password": "old password"}'),
    ]:
        write("fuzz_api_bodies", bytes([kind]) + body.encode())
    demo = open(os.path.join(root, "config/demo.json"), "rb").read()
    write("fuzz_api_bodies", bytes([3]) + demo)


def router():
    # Byte 0 the method (0 GET, 1 HEAD, 2 POST, 3 PUT, 4 DELETE), then the request target.
    for method, target in [
        (0, "/api/v1/prices?from=-9000000000000000&to=9000000000000000"),
        (0, "/api/v1/prices?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00%2B01:00"),
        (0, "/api/v1/series?name=grid_power_w&from=0&to=9e15&step=1s"),
        (0, "/api/v1/series?name=grid_power_w&from=1700000000&to=1700086400&step=15m"),
        (0, "/api/v1/series?name=grid_power_w&step=nan"), (0, "/api/v1/series"),
        (0, "/api/v1/savings?group=%ff&from=1e300"), (0, "/api/v1/savings?to=inf&group=month"),
        (0, "/api/v1/savings/sizes?sizes=0,1000,2000"), (0, "/api/v1/savings/sizes?sizes=1e309"),
        (0, "/api/v1/forecast/solar?from=-1&to=1"), (0, "/api/v1/forecast/solar/accuracy?days=99999999999999999999"),
        (0, "/api/v1/forecast/load?from=9999-12-31T23:59:59.999Z"), (0, "/api/v1/signal?kind=%c3%28"),
        (0, "/api/v1/commands?limit=-9223372036854775809&device=x"), (0, "/api/v1/notifications?limit=5&channel=%e2%82"),
        (0, "/api/v1/plan"), (0, "/api/v1/status"), (0, "/api/v1/config"), (0, "/api/v1/events"),
        (0, "/metrics"), (0, "/index.html"), (1, "/"), (0, "/../../etc/passwd"),
        (2, "/api/v1/devices/%ff/command"), (4, "/api/v1/auth/tokens/99999999999999999999"),
        (3, "/api/v1/strategy"), (2, "/api/v1/health"),
    ]:
        write("fuzz_router", bytes([method]) + target.encode())


def geocode():
    # Byte 0 even: a geocoder's answer (the real capture, nothing found, its error, damage);
    # odd: a search text as a client sends it.
    real = os.path.join(root, "tests/fixtures/real/geocoding")
    for path in sorted(glob.glob(os.path.join(real, "*.json"))):
        write("fuzz_geocode", bytes([0]) + open(path, "rb").read())
    for body in ['{"generationtime_ms":0.3}',
                 '{"error":true,"reason":"Parameter count must be between 1 and 100."}',
                 '{"results":[{"name":"M\u00fcnchen","latitude":48.13743,"longitude":11.57549,'
                 '"timezone":"Europe/Berlin","postcodes":["80331"]},{"name":"x","latitude":91}]}',
                 '{"results":"Berlin"}']:
        write("fuzz_geocode", bytes([0]) + body.encode())
    for text in ["Berlin", "K\u00f6ln Hbf & Dom", "B", "10115", "Ber\nlin"]:
        write("fuzz_geocode", bytes([1]) + text.encode())
    write("fuzz_geocode", bytes([1]) + b"Ber\xfflin")


def devices():
    seeds = {
        0: [  # shelly_gen1: selector bit 0 = /shelly, else /status
            (0, {"emeters": [{"power": 155.02, "pf": 0.98, "current": 0.66, "voltage": 235.57, "is_valid": True,
                              "total": 1234.5}] * 3, "relays": [{"ison": False}]}),
            (4, {"relays": [{"ison": True, "has_timer": False}], "meters": [{"power": 6.75, "is_valid": True,
                                                                              "total": 4321}]}),
            (1, {"type": "SHEM-3", "mac": "483FDAC37E3F", "auth": False, "fw": "20230913-112003/v1.14.0-gcb84623"}),
            (1, {"type": "SHPLG-S", "fw": "v1.9"}),
        ],
        1: [  # shelly_gen2: 0 EM, 1 EM1, 2 Switch, 3 /shelly
            (0, {"id": 0, "a_current": 1.2, "a_voltage": 231.5, "a_act_power": -60.2, "b_act_power": "12.5",
                 "c_act_power": 3, "total_act_power": -312.5, "errors": ["no_load"]}),
            (0, {"id": 0, "total_act_power": 10, "errors": ["power_meter_failure"]}),
            (1, {"id": 0, "current": 2.6, "voltage": 234.9, "act_power": 501.8}),
            (2, {"id": 0, "output": False, "apower": 0.0, "voltage": 239.4, "current": 0.0,
                 "aenergy": {"total": 1234.5}, "temperature": {"tC": 42.8}}),
            (3, {"id": "shellypro3em-ec62609773d8", "model": "SPEM-003CEBEU", "gen": 2, "ver": "1.4.4",
                 "app": "Pro3EM", "profile": "triphase", "auth_en": True}),
            (3, {"id": "shellyplusplugs-e86beae1a2b4", "model": "SNPL-00112EU", "gen": 2, "ver": "1.2.0"}),
            (0x80, {"code": -105, "message": "Argument 'id', value 1 not found!"}),
        ],
        2: [  # tasmota: 0 Status 8, 1 Power<n>, 2 Status 0, 3 MQTT SENSOR, 0x23 MQTT STATE
            (0, {"StatusSNS": {"Time": "2018-11-15T08:54:18", "ENERGY": {"Total": 1.5, "Power": 134,
                                                                           "Voltage": 231}}}),
            (0x40, {"StatusSNS": {"Time": "2023-02-28T12:49:49", "SML": {"total_kwh": 15011.575, "Power": -250}}}),
            (1, {"POWER1": "ON"}), (1, {"POWER": "OFF"}),
            (2, {"Status": {"Module": 0, "DeviceName": "Nous A1T", "FriendlyName": ["Tasmota"]},
                 "StatusFWR": {"Version": "13.1.0(tasmota)", "Hardware": "ESP8266EX"}}),
            (3, {"Time": "2024-10-03T12:49:13", "ENERGY": {"Power": 50, "Total": 3.2, "Voltage": 230}}),
            (0x23, {"Time": "2020-10-25T16:45:38", "POWER1": "ON", "UptimeSec": 810}),
            (0, {"WARNING": "Need user=<username>&password=<password>"}),
        ],
        3: [  # opendtu: 0 livedata, 1 system info, 2 MQTT inverter value, 3 MQTT dtu status
            (0, {"inverters": [{"serial": "116180000001", "name": "HM-800", "reachable": True, "producing": True,
                                "limit_absolute": 800, "limit_relative": 100, "data_age": 3,
                                "AC": {"0": {"Power": {"v": 345.6, "u": "W"}}},
                                "INV": {"0": {"Temperature": {"v": 32.1}, "YieldDay": {"v": 1200},
                                              "YieldTotal": {"v": 345.6}, "Power DC": {"v": 360}}}}]}),
            (0, [{"serial": "116180000001", "reachable": 0, "0": {"Power": {"v": 0}}}]),
            (1, {"git_hash": "v24.2.12", "hostname": "OpenDTU"}),
        ],
        4: [  # zendure: 1 HTTP report, 0 MQTT report (twice, merged)
            (1, {"product": "Hyper 2000", "properties": {"electricLevel": 55, "outputHomePower": 200,
                                                         "outputLimit": 800, "packInputPower": 100,
                                                         "outputPackPower": 0, "minSoc": 100, "socSet": 1000,
                                                         "hyperTmp": 3001}}),
            (0, {"properties": {"outputLimit": 300, "electricLevel": "40"}}),
        ],
        5: [  # marstek_venus: the result object of 0 ES.GetStatus, 1 ES.GetMode, 2 EM.GetStatus, 3 device
            (0, {"id": 0, "bat_soc": 55, "bat_cap": 2560, "ongrid_power": -200}),
            (1, {"id": 0, "mode": "Passive"}), (1, {"mode": 3}),
            (2, {"id": 0, "ct_state": 1, "total_power": 123, "a_power": 40}),
            (3, {"device": "VenusE", "ver": 153, "ble_mac": "aabbcc"}),
        ],
        6: [  # http_json with power_key "power" / "emeters[0].power", soc, state "on"
            (0x10, {"power": 123.4, "soc": 50, "on": True}),
            (0x24, {"emeters": [{"power": "-45.5"}], "soc": 80}),
            (0x54, {"power": 12, "on": "ON"}),
        ],
        7: [  # mqtt_json
            (0x10, {"power": 12, "soc": 40, "on": "ON"}),
            (0x14, {"power": 1, "on": 1}),
        ],
    }
    for driver, cases in seeds.items():
        for selector, body in cases:
            write("fuzz_devices", bytes([driver, selector]) + json.dumps(body).encode())
    for selector, text in [(2, "0/power\n345.6"), (2, "status/reachable\n1"), (2, "status/limit_absolute\n600"),
                           (2, "device/fwbuildversion\n1.0.10"), (3, "\noffline"),
                           (3, "dtu/status\nonline")]:
        write("fuzz_devices", bytes([3, selector]) + text.encode())
    write("fuzz_devices", bytes([5, 0]) + b"not json")
    for text in ["emeters[0].power\n" + json.dumps({"emeters": [{"power": 1.5}]}),
                 "a.b[2].c\n" + json.dumps({"a": {"b": [0, 1, {"c": "3.5"}]}}),
                 "StatusSNS.ENERGY.Power\n" + json.dumps({"StatusSNS": {"ENERGY": {"Power": 7}}})]:
        write("fuzz_devices", bytes([8, 0]) + text.encode())


if __name__ == "__main__":
    shutil.rmtree(corpus, ignore_errors=True)
    providers()
    configs()
    api_bodies()
    router()
    geocode()
    devices()
    for target in sorted(os.listdir(corpus)):
        print(target, len(os.listdir(os.path.join(corpus, target))))
