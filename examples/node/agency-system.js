#!/usr/bin/env node
// An agency system on the IACTN network, in Node.js with MQTT.js.
//
// It connects with its client certificate (MQTT 5 or 3.1.1 over TLS), subscribes to the
// alerts of its own country (iactn/alerts/{STATE}/+) and to one category from every
// country (iactn/alerts/+/{CATEGORY}), prints each alert the broker lets through as one
// JSON line, and acknowledges it with status "received" on iactn/acks/{ORIGIN}/{STATE}.
// The system trusts only the sender the broker stamped into the alert ("iactn" member).
//
//   npm ci
//   node agency-system.js --ca ca.crt --cert mx-cni-system.crt --key mx-cni-system.key \
//       --principal mx-cni-system --state MX --category travel
'use strict';

const fs = require('fs');
const mqtt = require('mqtt');

const ALERT_LANGUAGES = ['en', 'es', 'pt', 'fr'];
const DEFAULTS = { host: '127.0.0.1', port: '8883', lang: 'es', mqtt: '5', count: '0', timeout: '0' };
const REQUIRED = ['ca', 'cert', 'key', 'principal', 'state', 'category'];

function parseArgs(argv) {
  const args = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
      throw new Error(`invalid argument ${argv[i]}; options are --name value`);
    }
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const name of REQUIRED) {
    if (!args[name]) {
      throw new Error(`missing --${name}`);
    }
  }
  return args;
}

function emit(event, fields) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
}

function headline(alert, preferred) {
  const texts = alert.headline || {};
  for (const lang of [preferred, ...ALERT_LANGUAGES]) {
    if (texts[lang]) {
      return texts[lang];
    }
  }
  return '';
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const seen = new Set(); // alert ids already handled: both filters may match one alert
  let handled = 0;

  const client = mqtt.connect(`mqtts://${args.host}:${args.port}`, {
    ca: fs.readFileSync(args.ca),
    cert: fs.readFileSync(args.cert),
    key: fs.readFileSync(args.key),
    clientId: `${args.principal}-example-${process.pid}`,
    protocolVersion: args.mqtt === '3.1.1' ? 4 : 5,
    clean: true,
    reconnectPeriod: 0, // a refused certificate stays refused: do not retry
  });

  const finish = (code) => client.end(false, {}, () => process.exit(code));
  if (Number(args.timeout) > 0) {
    setTimeout(() => finish(0), Number(args.timeout) * 1000);
  }

  client.on('connect', () => {
    const filters = [`iactn/alerts/${args.state}/+`, `iactn/alerts/+/${args.category}`];
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      if (err) {
        process.stderr.write(`agency-system: subscription failed: ${err.message}\n`);
        finish(1);
        return;
      }
      const codes = granted.map((g) => g.qos);
      process.stderr.write(`agency-system: subscribed, granted QoS ${JSON.stringify(codes)}\n`);
    });
  });

  client.on('message', (topic, payload) => {
    let alert;
    try {
      alert = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      process.stderr.write(`agency-system: skipped a message on ${topic} that is not JSON\n`);
      return;
    }
    if (!alert.iactn || seen.has(alert.id)) {
      return;
    }
    seen.add(alert.id);
    const origin = topic.split('/')[2];
    emit('alert', {
      id: alert.id, origin, category: alert.category, msg_type: alert.msg_type,
      sender: alert.iactn.sender.principal, headline: headline(alert, args.lang),
    });
    const ack = { alert_id: alert.id, status: 'received', sent: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    client.publish(`iactn/acks/${origin}/${args.state}`, JSON.stringify(ack), { qos: 1 }, (err) => {
      // MQTT 5 refusals arrive as errors carrying the PUBACK reason code (0x87).
      if (err) {
        emit('ack-refused', { id: alert.id, reason_code: err.code });
      } else {
        emit('acked', { id: alert.id });
      }
      handled += 1;
      if (Number(args.count) > 0 && handled >= Number(args.count)) {
        finish(0);
      }
    });
  });

  client.on('error', (err) => {
    process.stderr.write(`agency-system: ${err.message}\n`);
    finish(3);
  });
}

try {
  main();
} catch (err) {
  process.stderr.write(`agency-system: ${err.message}\n`);
  process.exit(2);
}
