#!/usr/bin/env python3
"""Scrapes a dealernet metrics endpoint the way Prometheus does and prints what it holds.

Usage: scrape_metrics.py http://HOST:PORT

Fetches /metrics over HTTP, parses it with the official parser of the Prometheus text
format (prometheus_client.parser, which refuses malformed input) and prints one JSON
document: the content type, the status of a request to another path, and every sample as
{"family", "type", "name", "labels", "value"}. The end-to-end test asserts on that.

Needs `pip install prometheus-client`.
"""

import json
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    base = sys.argv[1].rstrip("/")
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    try:
        urllib.request.urlopen(f"{base}/elsewhere", timeout=10)
        other_status = 200
    except urllib.error.HTTPError as e:
        other_status = e.code
    samples = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.append(
                {
                    "family": family.name,
                    "type": family.type,
                    "name": sample.name,
                    "labels": sample.labels,
                    "value": sample.value,
                }
            )
    json.dump(
        {"content_type": content_type, "other_status": other_status, "samples": samples},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
