"""Link every row of a bulklink CSV input the way a boto3 user writes it: one client, a
thread pool, one admin_link_provider_for_user per row, botocore's default config (retries
included), or with --retry-mode one of botocore's retry modes (legacy, standard, adaptive:
standard's retries with a client-side rate limiter that slows down when throttled). A row
that raises counts as failed.

    python3 bench/boto3_link.py --input links.csv --endpoint-url http://127.0.0.1:9229 \
        --threads 8 [--retry-mode adaptive] --result result.json

Credentials and region come from the environment, as boto3 finds them.
"""

import argparse
import concurrent.futures
import csv
import json
import time

import boto3
from botocore.config import Config


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--input", required=True)
    p.add_argument("--endpoint-url", required=True)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--retry-mode", choices=["legacy", "standard", "adaptive"],
                   help="botocore's retry mode (default: botocore's own default)")
    p.add_argument("--result", required=True, help="JSON file for the counts")
    args = p.parse_args()

    config = Config(retries={"mode": args.retry_mode}) if args.retry_mode else None
    client = boto3.client("cognito-idp", endpoint_url=args.endpoint_url, config=config)

    def link(row):
        client.admin_link_provider_for_user(
            UserPoolId=row["user_pool_id"],
            DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": row["destination_user"]},
            SourceUser={
                "ProviderName": row["source_provider"],
                "ProviderAttributeName": "Cognito_Subject",
                "ProviderAttributeValue": row["source_value"],
            },
        )

    with open(args.input, newline="") as f:
        rows = list(csv.DictReader(f))

    start = time.monotonic()
    failed, errors = 0, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.threads) as pool:
        futures = [pool.submit(link, row) for row in rows]
        for fut in concurrent.futures.as_completed(futures):
            err = fut.exception()
            if err is not None:
                failed += 1
                code = getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__)
                errors[code] = errors.get(code, 0) + 1
    seconds = time.monotonic() - start

    with open(args.result, "w") as f:
        json.dump({"rows": len(rows), "failed": failed, "seconds": seconds, "errors": errors}, f)


if __name__ == "__main__":
    main()
