// What the settings form shows of the config (docs/configuration.md), as a table: per section
// its fields, per list its item fields, and per device or provider type the options that type
// uses. Everything else in the config (simulation, http, storage, …) is kept as it came and
// sent back unchanged: PUT /api/v1/config takes the whole document.
//
// A field is [key, kind, options]; kinds: text, number, int, bool, select, secret, time, date,
// tz. Labels come from the dictionary as f.<path without indices> (strings.js), units from here.

// The types and names below must match the daemon's own tables (src/devices/devices_list.h,
// src/providers/providers_list.h, the schedule modes): tests/browser/settings_schema.test.mjs
// compares them with what `balkonsolard --check-config` knows.
export const DEVICE_TYPES = ['simulator', 'shelly_gen2', 'shelly_gen1', 'tasmota', 'opendtu', 'marstek_venus', 'zendure', 'http_json',
  'mqtt_json', 'ahoydtu', 'apsystems_ez1', 'esphome', 'home_assistant', 'modbus', 'sunspec', 'sma_speedwire'];
export const PROVIDER_TYPES = ['fixed', 'tou', 'awattar', 'energy_charts', 'entsoe', 'tibber', 'octopus', 'open_meteo',
  'forecast_solar', 'solcast', 'energy_charts_signal', 'corrently', 'uk_carbon', 'sim_solar'];
export const MODES = ['idle', 'charge', 'discharge', 'hold', 'grid_charge'];

export const DEVICE_FIELD = {
  host: ['host', 'text', { required: true }],
  port: ['port', 'int', {}],
  user: ['user', 'text', {}],
  password: ['password', 'secret', {}],
  serial: ['serial', 'text', {}],
  channel: ['channel', 'int', {}],
  path: ['path', 'text', {}],
  power_key: ['power_key', 'text', {}],
  protocol: ['protocol', 'select', { options: ['http', 'mqtt'] }],
  topic: ['topic', 'text', {}],
  product_key: ['product_key', 'text', {}],
  role: ['role', 'select', { options: ['meter', 'inverter', 'battery', 'plug', 'battery+meter'] }],
  soc_key: ['soc_key', 'text', {}],
  state_key: ['state_key', 'text', {}],
  power_scale: ['power_scale', 'number', {}],
  poll_interval_s: ['poll_interval_s', 'number', { unit: 's' }],
  timeout_s: ['timeout_s', 'number', { unit: 's' }],
  max_power_w: ['max_power_w', 'number', { unit: 'W' }],
  command_topic: ['command_topic', 'text', {}],
  command_payload: ['command_payload', 'text', {}],
  energy_key: ['energy_key', 'text', {}],
  token: ['token', 'secret', {}],
  unit_id: ['unit_id', 'int', {}],
  registers: ['registers', 'text', {}],
};
const dev = (...keys) => keys.map((k) => DEVICE_FIELD[k]);
// The options each driver reads (src/devices/<driver>.c).
export const DEVICE_FIELDS = {
  simulator: [],
  shelly_gen2: dev('host', 'role', 'channel', 'password', 'poll_interval_s', 'timeout_s'),
  shelly_gen1: dev('host', 'role', 'channel', 'user', 'password', 'poll_interval_s', 'timeout_s'),
  tasmota: dev('protocol', 'host', 'topic', 'role', 'channel', 'user', 'password', 'power_key', 'power_scale', 'poll_interval_s'),
  opendtu: dev('protocol', 'host', 'serial', 'topic', 'user', 'password', 'max_power_w', 'poll_interval_s'),
  marstek_venus: dev('host', 'port', 'role', 'power_scale', 'max_power_w', 'poll_interval_s'),
  zendure: dev('protocol', 'host', 'serial', 'product_key', 'max_power_w', 'poll_interval_s'),
  http_json: dev('host', 'port', 'path', 'role', 'power_key', 'power_scale', 'soc_key', 'state_key', 'user', 'password',
    'poll_interval_s', 'timeout_s'),
  mqtt_json: dev('topic', 'role', 'power_key', 'power_scale', 'soc_key', 'state_key', 'command_topic', 'command_payload',
    'max_power_w', 'timeout_s'),
  ahoydtu: dev('host', 'port', 'channel', 'max_power_w', 'poll_interval_s', 'timeout_s'),
  apsystems_ez1: dev('host', 'port', 'max_power_w', 'poll_interval_s', 'timeout_s'),
  esphome: dev('host', 'port', 'role', 'power_key', 'power_scale', 'soc_key', 'energy_key', 'state_key', 'user', 'password',
    'poll_interval_s', 'timeout_s'),
  home_assistant: dev('host', 'port', 'token', 'role', 'power_key', 'power_scale', 'soc_key', 'energy_key', 'state_key',
    'poll_interval_s', 'timeout_s'),
  modbus: dev('host', 'port', 'unit_id', 'role', 'registers', 'poll_interval_s', 'timeout_s'),
  sunspec: dev('host', 'port', 'unit_id', 'role', 'poll_interval_s', 'timeout_s'),
  sma_speedwire: dev('host', 'serial', 'poll_interval_s'),
};

const PROVIDER_FIELD = {
  area: ['area', 'text', {}],
  token: ['token', 'secret', {}],
  product: ['product', 'text', {}],
  site_id: ['site_id', 'text', {}],
  charges_per_kwh: ['charges_per_kwh', 'number', { unit: 'money/kWh' }],
  vat_pct: ['vat_pct', 'number', { unit: '%' }],
  price_per_kwh: ['price_per_kwh', 'number', { unit: 'money/kWh', required: true }],
  interval_min: ['interval_min', 'number', { unit: 'min' }],
};
const prov = (...keys) => keys.map((k) => PROVIDER_FIELD[k]);
// The options each provider type uses (docs/providers.md, "Provider types").
export const PROVIDER_FIELDS = {
  fixed: prov('price_per_kwh'),
  tou: [],
  awattar: prov('area', 'charges_per_kwh', 'vat_pct'),
  energy_charts: prov('area', 'charges_per_kwh', 'vat_pct'),
  entsoe: prov('token', 'area', 'charges_per_kwh', 'vat_pct'),
  tibber: prov('token', 'site_id'),
  octopus: prov('product', 'area'),
  open_meteo: prov('interval_min'),
  forecast_solar: prov('token', 'interval_min'),
  solcast: prov('token', 'site_id', 'interval_min'),
  energy_charts_signal: prov('area', 'interval_min'),
  corrently: prov('area', 'token', 'interval_min'),
  uk_carbon: prov('interval_min'),
  sim_solar: [],
};

// Notification channels (src/channels/channels_list.h) and the options each type reads.
export const CHANNEL_TYPES = ['ntfy', 'telegram', 'pushover', 'gotify', 'webhook', 'email', 'mqtt'];
const CHANNEL_FIELD = {
  url: ['url', 'text', {}], token: ['token', 'secret', {}], chat_id: ['chat_id', 'text', {}], user: ['user', 'text', {}],
  password: ['password', 'secret', {}], to: ['to', 'text', {}], from: ['from', 'text', {}], topic: ['topic', 'secret', {}],
};
const chan = (...keys) => keys.map((k) => CHANNEL_FIELD[k]);
export const CHANNEL_FIELDS = {
  ntfy: chan('url', 'topic', 'token'), telegram: chan('token', 'chat_id'), pushover: chan('token', 'user'),
  gotify: chan('url', 'token'), webhook: chan('url'), email: chan('url', 'user', 'password', 'from', 'to'), mqtt: chan('topic'),
};
const RULES_BOOL = ['device_offline', 'meter_stale', 'battery_empty', 'battery_full', 'battery_not_charging', 'export_cap',
  'negative_price', 'price_spike', 'cheap_window', 'provider_failing', 'optimizer_fallback', 'storage_failing',
  'recommendations', 'daily_summary'];
export const RULE_FIELDS = [...RULES_BOOL.map((k) => [k, 'bool', {}]), ['not_charging_min', 'number', { unit: 'min' }],
  ['export_cap_margin_w', 'number', { unit: 'W' }], ['price_spike_factor', 'number', { unit: '×' }],
  ['provider_failing_min', 'number', { unit: 'min' }], ['daily_summary_at', 'time', {}]];

// Devices are chosen by brand and model from GET /api/v1/devices/catalogue (settings.js,
// DeviceEditor); the fields of each option come from DEVICE_FIELD.
export const DEVICE_LIST = { key: 'devices', min: 0, max: 16, item: 'device', typed: DEVICE_FIELDS, types: DEVICE_TYPES,
  newItem: (n) => ({ id: `device${n + 1}`, type: 'shelly_gen2', name: '', host: '', role: 'meter' }),
  common: [['id', 'text', { required: true }], ['type', 'select', { options: DEVICE_TYPES }], ['name', 'text', {}]] };

export const ZONE_FIELDS = [
  ['days', 'text', {}],
  ['from', 'time', {}],
  ['to', 'text', { placeholder: 'HH:MM' }], // "24:00" is allowed, which a time input cannot hold
  ['price_per_kwh', 'number', { unit: 'money/kWh', required: true }],
];

export const SECTIONS = [
  { id: 'site', fields: [['name', 'text', { required: true }], ['latitude', 'number', { unit: '°' }],
    ['longitude', 'number', { unit: '°' }], ['timezone', 'tz', {}],
    // The setup's map and place search (components/site-picker.js): empty switches each off.
    ['map_tiles_url', 'text', {}], ['geocoder_url', 'text', {}]] },
  { id: 'pv', fields: [['system_loss_pct', 'number', { unit: '%' }]],
    lists: [{ key: 'planes', min: 0, max: 8, item: 'plane', newItem: (n) => ({ name: `plane${n + 1}`, tilt: 35, azimuth: 0, peak_w: 400 }),
      fields: [['name', 'text', {}], ['tilt', 'number', { unit: '°' }], ['azimuth', 'number', { unit: '°' }],
        ['peak_w', 'number', { unit: 'Wp', required: true }]] }] },
  { id: 'inverter', fields: [['ac_limit_w', 'number', { unit: 'W' }], ['efficiency_pct', 'number', { unit: '%' }]] },
  { id: 'battery', fields: [['capacity_wh', 'number', { unit: 'Wh' }], ['max_charge_w', 'number', { unit: 'W' }],
    ['max_discharge_w', 'number', { unit: 'W' }], ['soc_min_pct', 'number', { unit: '%' }], ['soc_max_pct', 'number', { unit: '%' }],
    ['charge_efficiency_pct', 'number', { unit: '%' }], ['discharge_efficiency_pct', 'number', { unit: '%' }],
    ['coupling', 'select', { options: ['ac', 'dc'] }]] },
  { id: 'household', fields: [['annual_kwh', 'number', { unit: 'kWh' }]] },
  { id: 'tariff', fields: [['import_per_kwh', 'number', { unit: 'money/kWh' }], ['feed_in_per_kwh', 'number', { unit: 'money/kWh' }],
    ['currency', 'text', { required: true }]] },
  { id: 'investment', fields: [['modules_price', 'number', { unit: 'money' }], ['battery_price', 'number', { unit: 'money' }],
    ['installed', 'date', {}]] },
  { id: 'optimizer', fields: [['strategy', 'select', { options: 'strategies' }], ['horizon_h', 'number', { unit: 'h' }],
    ['allow_grid_charge', 'bool', {}], ['wear_cost_per_kwh', 'number', { unit: 'money/kWh' }],
    ['terminal_value_per_kwh', 'number', { unit: 'money/kWh' }], ['replan_interval_min', 'number', { unit: 'min' }],
    ['history_days', 'number', { unit: 'd' }]],
    lists: [{ key: 'schedule', min: 0, max: 16, item: 'window', newItem: () => ({ from: '17:00', to: '22:00', mode: 'discharge', power_w: 0 }),
      fields: [['from', 'time', { required: true }], ['to', 'time', { required: true }], ['mode', 'select', { options: MODES }],
        ['power_w', 'number', { unit: 'W' }]] }] },
  { id: 'control', fields: [['enabled', 'bool', {}], ['battery', 'text', {}], ['inverter', 'text', {}],
    ['target_grid_w', 'number', { unit: 'W' }], ['deadband_w', 'number', { unit: 'W' }], ['max_step_w', 'number', { unit: 'W' }]] },
  // Providers and devices: a list at the top level, the fields depending on the type.
  { id: 'providers', list: { key: 'providers', min: 0, max: 12, item: 'provider', typed: PROVIDER_FIELDS, types: PROVIDER_TYPES,
    newItem: (n) => ({ id: `provider${n + 1}`, type: 'energy_charts', enabled: true }),
    common: [['id', 'text', { required: true }], ['type', 'select', { options: PROVIDER_TYPES }], ['enabled', 'bool', {}]],
    after: [['timeout_s', 'number', { unit: 's' }], ['base_url', 'text', {}]] } },
  { id: 'devices', list: DEVICE_LIST },
  // Notifications: channels (each with a Test), quiet hours and the alert rules.
  { id: 'notifications', fields: [['enabled', 'bool', {}], ['quiet_hours_from', 'time', {}], ['quiet_hours_to', 'time', {}],
    ['max_per_hour', 'int', {}]],
  lists: [{ key: 'channels', min: 0, max: 8, item: 'channel', typed: CHANNEL_FIELDS, types: CHANNEL_TYPES,
    newItem: (n) => ({ id: `channel${n + 1}`, type: 'ntfy', url: 'https://ntfy.sh', topic: '' }),
    common: [['id', 'text', { required: true }], ['type', 'select', { options: CHANNEL_TYPES }],
      ['min_severity', 'select', { options: ['info', 'warning', 'critical'] }]] }] },
  { id: 'rules', base: 'notifications.rules.', fields: RULE_FIELDS },
  { id: 'loads', list: { key: 'loads', min: 0, max: 8, item: 'load',
    newItem: (n) => ({ id: `load${n + 1}`, name: '', plug: '', mode: 'surplus', power_w: 500 }),
    fields: [['id', 'text', { required: true }], ['name', 'text', {}], ['plug', 'text', { required: true }],
      ['mode', 'select', { options: ['surplus', 'cheap', 'manual'] }], ['power_w', 'number', { unit: 'W' }],
      ['run_min', 'number', { unit: 'min' }], ['earliest', 'time', {}], ['latest', 'time', {}],
      ['min_on_s', 'number', { unit: 's' }], ['min_off_s', 'number', { unit: 's' }], ['battery_priority_soc_pct', 'number', { unit: '%' }]] } },
  { id: 'appliances', list: { key: 'appliances', min: 0, max: 8, item: 'appliance',
    newItem: (n) => ({ id: `appliance${n + 1}`, name: '', duration_min: 120, energy_kwh: 1, latest: '18:00' }),
    fields: [['id', 'text', { required: true }], ['name', 'text', {}], ['duration_min', 'number', { unit: 'min', required: true }],
      ['energy_kwh', 'number', { unit: 'kWh', required: true }], ['earliest', 'text', { placeholder: 'HH:MM' }],
      ['latest', 'time', { required: true }], ['plug', 'text', {}], ['auto_start', 'bool', {}]] } },
  { id: 'mqtt', fields: [['enabled', 'bool', {}], ['host', 'text', {}], ['port', 'int', {}], ['user', 'text', {}],
    ['password', 'secret', {}], ['client_id', 'text', {}], ['prefix', 'text', {}], ['ha_discovery', 'bool', {}],
    ['discovery_prefix', 'text', {}], ['publish_interval_s', 'number', { unit: 's' }]] },
  { id: 'http', fields: [['read_without_login', 'bool', {}], ['session_days', 'int', { unit: 'd' }],
    ['allowed_hosts', 'text', {}], ['trusted_proxies', 'text', {}], ['tls', 'select', { options: ['off', 'on', 'auto'] }],
    ['hsts', 'bool', {}]] },
];
