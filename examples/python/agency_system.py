#!/usr/bin/env python3
"""An agency system on the IACTN network, in Python with the Eclipse Paho client.

It connects with its client certificate (MQTT 5 or 3.1.1 over TLS), subscribes to the
alerts of its own country (iactn/alerts/{STATE}/+) and to one category from every
country (iactn/alerts/+/{CATEGORY}), prints each alert the broker lets through as one
JSON line, and acknowledges it with status "received" on
iactn/acks/{ORIGIN}/{STATE}. The broker decides what this system may read; the
system trusts only the sender the broker stamped into the alert ("iactn" member).

Runs with paho-mqtt 1.6 (Debian 12's python3-paho-mqtt) and 2.x. Example:

    python3 agency_system.py --ca ca.crt --cert mx-cni-system.crt \
        --key mx-cni-system.key --principal mx-cni-system --state MX --category travel
"""

import argparse
import datetime
import json
import os
import ssl
import sys
import time

import paho.mqtt.client as mqtt

ALERT_LANGUAGES = ("en", "es", "pt", "fr")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="broker host")
    parser.add_argument("--port", type=int, default=8883, help="broker TLS port")
    parser.add_argument("--ca", required=True, help="IACTN network CA certificate (PEM)")
    parser.add_argument("--cert", required=True, help="this system's certificate (PEM)")
    parser.add_argument("--key", required=True, help="private key of --cert (PEM)")
    parser.add_argument("--principal", required=True,
                        help="principal id of the certificate; the client id starts with it")
    parser.add_argument("--state", required=True, help="this system's state, e.g. MX")
    parser.add_argument("--category", required=True, help="category to follow everywhere")
    parser.add_argument("--lang", default="es", help="preferred headline language")
    parser.add_argument("--mqtt", choices=("5", "3.1.1"), default="5", help="MQTT version")
    parser.add_argument("--count", type=int, default=0, help="exit after N alerts (0: never)")
    parser.add_argument("--timeout", type=float, default=0,
                        help="exit after this many seconds (0: never)")
    return parser.parse_args()


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def emit(event, **fields):
    """Print one JSON line on standard output."""
    print(json.dumps({"event": event, **fields}, ensure_ascii=False), flush=True)


def headline(alert, preferred):
    texts = alert.get("headline", {})
    for lang in (preferred, *ALERT_LANGUAGES):
        if lang in texts:
            return texts[lang]
    return ""


class AgencySystem:
    def __init__(self, args):
        self.args = args
        self.seen = set()      # alert ids already handled (two filters may match)
        self.pending = {}      # MQTT message id of an ack -> alert id
        self.handled = 0
        self.subscribed = False
        version = mqtt.MQTTv5 if args.mqtt == "5" else mqtt.MQTTv311
        client_id = f"{args.principal}-example-{os.getpid()}"
        if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                      protocol=version)
        else:
            self.client = mqtt.Client(client_id=client_id, protocol=version)
        context = ssl.create_default_context(cafile=args.ca)
        context.load_cert_chain(args.cert, args.key)
        self.client.tls_set_context(context)
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = self.on_subscribe
        self.client.on_message = self.on_message
        self.client.on_publish = self.on_publish

    def on_connect(self, client, _userdata, _flags, reason, _properties=None):
        code = getattr(reason, "value", reason)
        if code != 0:
            print(f"agency_system: the broker refused the connection ({reason}); check "
                  "that the certificate is registered and not revoked", file=sys.stderr)
            client.disconnect()
            return
        state, category = self.args.state, self.args.category
        client.subscribe([(f"iactn/alerts/{state}/+", 1), (f"iactn/alerts/+/{category}", 1)])

    def on_subscribe(self, _client, _userdata, _mid, granted, _properties=None):
        codes = [getattr(code, "value", code) for code in granted]
        refused = [code for code in codes if code >= 0x80]
        print(f"agency_system: subscribed, granted QoS {codes}", file=sys.stderr, flush=True)
        if refused:
            print("agency_system: the broker refused a subscription", file=sys.stderr)
        self.subscribed = True

    def on_message(self, client, _userdata, message):
        try:
            alert = json.loads(message.payload)
            stamp = alert["iactn"]
        except (ValueError, KeyError, TypeError):
            print(f"agency_system: skipped an unstamped message on {message.topic}",
                  file=sys.stderr)
            return
        alert_id = alert.get("id")
        if alert_id in self.seen:
            return
        self.seen.add(alert_id)
        origin = message.topic.split("/")[2]
        emit("alert", id=alert_id, origin=origin, category=alert.get("category"),
             msg_type=alert.get("msg_type"), sender=stamp["sender"]["principal"],
             headline=headline(alert, self.args.lang))
        ack = {"alert_id": alert_id, "status": "received", "sent": now()}
        info = client.publish(f"iactn/acks/{origin}/{self.args.state}", json.dumps(ack), qos=1)
        self.pending[info.mid] = alert_id

    def on_publish(self, _client, _userdata, mid, reason_code=None, _properties=None):
        alert_id = self.pending.pop(mid, None)
        code = getattr(reason_code, "value", reason_code) or 0
        if code >= 0x80:
            emit("ack-refused", id=alert_id, reason_code=code)
        else:
            emit("acked", id=alert_id)
        self.handled += 1

    def run(self):
        self.client.connect(self.args.host, self.args.port, keepalive=30)
        deadline = time.monotonic() + self.args.timeout if self.args.timeout else None
        while deadline is None or time.monotonic() < deadline:
            if self.client.loop(timeout=0.2) != mqtt.MQTT_ERR_SUCCESS:
                print("agency_system: connection lost", file=sys.stderr)
                return 3
            if self.args.count and self.handled >= self.args.count:
                break
        self.client.disconnect()
        return 0


if __name__ == "__main__":
    sys.exit(AgencySystem(parse_args()).run())
