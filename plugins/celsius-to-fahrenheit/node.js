// Runs like a function node body, with `config` holding this node's properties.
const celsius = typeof msg.payload === 'object' && msg.payload !== null ? msg.payload.tC : Number(msg.payload);
if (typeof celsius !== 'number' || isNaN(celsius)) {
  node.error('payload is not a temperature: ' + JSON.stringify(msg.payload), msg);
  return null;
}
const factor = Math.pow(10, Number(config.decimals ?? 1));
msg.payload = Math.round((celsius * 9 / 5 + 32) * factor) / factor;
node.status({ fill: 'blue', shape: 'dot', text: msg.payload + ' °F' });
return msg;
