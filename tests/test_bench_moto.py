"""The load and sweep benchmarks run S3 on a moto whose version listing is indexed by folder
(`benchmarks/moto_indexed.py`); their figures mean something only if it answers exactly as stock moto
does. The patch is process-wide, so the comparison runs in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = r"""
import json, sys
import boto3
from moto import mock_aws

sys.path.insert(0, sys.argv[1])
from moto_indexed import patch_moto

def listing(s3, prefix):
    out, kw = [], {"Bucket": "bench-bucket", "Prefix": prefix, "MaxKeys": 3}
    while True:
        page = s3.list_object_versions(**kw)
        out += [("v", v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])]
        out += [("d", d["Key"], d["VersionId"], d["IsLatest"]) for d in page.get("DeleteMarkers", [])]
        if not page.get("IsTruncated"):
            return sorted(out)
        kw["KeyMarker"], kw["VersionIdMarker"] = page["NextKeyMarker"], page["NextVersionIdMarker"]

with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bench-bucket")
    s3.put_bucket_versioning(Bucket="bench-bucket", VersioningConfiguration={"Status": "Enabled"})
    for seller in ("s1", "s2"):
        for order in ("o1", "o10", "o2"):
            for item in range(3):
                key = f"{seller}/{order}/i{item}"
                s3.put_object(Bucket="bench-bucket", Key=key, Body=b"x" * item)
                if item == 1:
                    s3.put_object(Bucket="bench-bucket", Key=key, Body=b"second version")
                if item == 2:
                    s3.delete_object(Bucket="bench-bucket", Key=key)
    s3.put_object(Bucket="bench-bucket", Key="s1/o1", Body=b"a key that is also a folder's name")
    prefixes = ["", "s1/", "s1/o1/", "s1/o1", "s2/o10/", "s2/o2/", "s3/", "s1/o1/i1"]
    stock = {p: listing(s3, p) for p in prefixes}
    patch_moto()
    # The index must follow writes and deletes made after the patch, too.
    s3.put_object(Bucket="bench-bucket", Key="s2/o2/late", Body=b"stored after the patch")
    gone = [x[2] for x in stock["s1/"] if x[1] == "s1/o2/i0"]
    s3.delete_objects(
        Bucket="bench-bucket", Delete={"Objects": [{"Key": "s1/o2/i0", "VersionId": v} for v in gone]}
    )
    patched = {p: listing(s3, p) for p in prefixes}
    late = sum(1 for x in patched["s2/o2/"] if x[1] == "s2/o2/late")
    same = all(
        [x for x in patched[p] if x[1] != "s2/o2/late"] == [x for x in stock[p] if x[1] != "s1/o2/i0"]
        for p in prefixes
    )
    print(json.dumps({"same": same, "late": late, "gone": len(gone), "n": len(stock[""])}))
"""


def test_the_indexed_moto_lists_versions_exactly_as_stock_moto_does() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(ROOT / "benchmarks")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] > 30  # versions and delete markers of 19 keys
    assert result["late"] == 1  # a key stored after the patch is found under its folder
    assert result["gone"] == 1  # and one deleted after it is not
    assert result["same"]
