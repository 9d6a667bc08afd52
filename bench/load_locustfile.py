"""Locust users of the load benchmark (run by bench/load.py in its own virtualenv: standard
library and locust only, no project imports).

Each simulated user is a person in the province: a share of them sign in through the web form
(teachers), the rest browse anonymously. The mix per request: search 70% (/search, queries drawn
by Zipf popularity), material pages 20% and downloads 7% (published materials under an open
licence, drawn by their download counts), uploads 3% (a teacher's small real PDF through
POST /api/v1/materials with the teacher's personal access token). Every request's end time,
name, duration and error is written to LOAD_RECORDS when the test stops, so bench/load.py computes
exact percentiles over the measured window.

Environment: LOAD_PLAN (JSON written by bench/load.py), LOAD_RECORDS (CSV to write).
"""
from __future__ import annotations

import csv
import itertools
import json
import os
import random
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, constant, constant_throughput, events, task

PLAN: dict[str, Any] = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())
RECORDS: list[tuple[float, str, float, str]] = []
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NUMBERS = itertools.count()
UPLOADS = itertools.count()
MATERIALS = PLAN["downloadable"]  # [material id, file id, download count]
MATERIAL_WEIGHTS = list(itertools.accumulate(d + 1 for _m, _f, d in MATERIALS))
QUERY_WEIGHTS = list(itertools.accumulate(PLAN["query_weights"]))


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response_length: int,
            exception: Any = None, **_kwargs: Any) -> None:
    RECORDS.append((time.time(), name, response_time, "" if exception is None else str(exception)[:200]))


@events.test_stop.add_listener
def _save(**_kwargs: Any) -> None:
    with open(os.environ["LOAD_RECORDS"], "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["end", "name", "ms", "error"])
        writer.writerows(RECORDS)


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/pdf\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Person(FastHttpUser):
    rate = float(PLAN["rate_per_user"])
    wait_time = constant_throughput(rate) if rate > 0 else constant(0)
    connection_timeout = 30.0
    network_timeout = 60.0

    def on_start(self) -> None:
        number = next(NUMBERS)
        self.rng = random.Random(number)
        self.teacher = PLAN["people"][number % len(PLAN["people"])]
        if self.rng.random() < PLAN["signed_in_share"]:
            self._sign_in()

    def _sign_in(self) -> None:
        page = self.client.get("/login", name="sign-in form")
        token = CSRF.search(page.text or "")
        with self.client.post("/login", name="sign-in", catch_response=True,
                              data={"csrf_token": token.group(1) if token else "", "email": self.teacher["email"],
                                    "password": self.teacher["password"], "next": ""}) as response:
            if response.status_code != 200 or "/login" in str(response.url):
                response.failure(f"sign-in failed: {response.status_code}")

    @task(70)
    def search(self) -> None:
        args = self.rng.choices(PLAN["queries"], cum_weights=QUERY_WEIGHTS)[0]
        self.client.get(f"/search?{urlencode(args)}", name="search")

    @task(20)
    def material_page(self) -> None:
        material, _file, _downloads = self.rng.choices(MATERIALS, cum_weights=MATERIAL_WEIGHTS)[0]
        self.client.get(f"/materials/{material}", name="material page")

    @task(7)
    def download(self) -> None:
        material, file, _downloads = self.rng.choices(MATERIALS, cum_weights=MATERIAL_WEIGHTS)[0]
        self.client.get(f"/materials/{material}/files/{file}/download", name="download")

    @task(3)
    def upload(self) -> None:
        item = PLAN["uploads"][next(UPLOADS) % len(PLAN["uploads"])]
        with open(item["path"], "rb") as source:
            content = source.read()
        fields = {"title": item["title"], "subject": item["subject"], "grades": item["grade"],
                  "material_type": "PHIEU_HOC_TAP", "licence": "CC_BY_4", "description": item["title"]}
        body, content_type = _multipart(fields, os.path.basename(item["path"]), content)
        headers = {"Authorization": f"Bearer {self.teacher['token']}", "Content-Type": content_type}
        with self.client.post("/api/v1/materials", data=body, headers=headers, name="upload",
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"upload: {response.status_code} {(response.text or '')[:200]}")
