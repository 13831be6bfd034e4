#!/usr/bin/env node
// MQTT.js client for the interoperability tests: subscribes and prints each message as
// a JSON line, or publishes one message at QoS 1 and prints the outcome.
//
//   node mqttjs_client.js subscribe --filter F --count N --timeout S [connection]
//   node mqttjs_client.js publish --topic T --file PAYLOAD [connection]
// connection: --port P --ca F --cert F --key F --client-id ID --version 4|5
// "subscribed" goes to standard error once the SUBACK arrives.
'use strict';

const fs = require('fs');
const mqtt = require('mqtt');

function parseArgs(argv) {
  const args = { mode: argv[0], count: '1', timeout: '10', version: '5' };
  for (let i = 1; i < argv.length; i += 2) {
    args[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const client = mqtt.connect(`mqtts://127.0.0.1:${args.port}`, {
  ca: fs.readFileSync(args.ca),
  cert: fs.readFileSync(args.cert),
  key: fs.readFileSync(args.key),
  clientId: args['client-id'],
  protocolVersion: Number(args.version),
  clean: true,
  reconnectPeriod: 0,
});
const out = (object) => process.stdout.write(JSON.stringify(object) + '\n');
const finish = (code) => client.end(false, {}, () => process.exit(code));
let received = 0;

setTimeout(() => finish(0), Number(args.timeout) * 1000);
client.on('error', (err) => {
  out({ result: 'error', message: err.message, code: err.code });
  finish(3);
});
client.on('connect', () => {
  if (args.mode === 'subscribe') {
    client.subscribe(args.filter, { qos: 1 }, (err, granted) => {
      process.stderr.write(`subscribed ${JSON.stringify(granted)}\n`);
    });
    return;
  }
  client.publish(args.topic, fs.readFileSync(args.file), { qos: 1 }, (err) => {
    out(err ? { result: 'refused', code: err.code } : { result: 'accepted' });
    finish(0);
  });
});
client.on('message', (topic, payload, packet) => {
  const properties = (packet.properties && packet.properties.userProperties) || {};
  out({ topic, payload: payload.toString('utf8'), user_properties: properties });
  received += 1;
  if (received >= Number(args.count)) {
    finish(0);
  }
});
