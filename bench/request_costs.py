"""CPU for one request of each kind of the load mix, in one thread, with every search cache off.

Runs the application in this process (Flask's test client) against the deployment that
bench/load.py seeded (run that first), so the figure is the application's own work: no
gunicorn, no other threads waiting for the GIL, no locust. Every query of the load mix is asked
once by an anonymous visitor and once signed in first (warm postings and columns), then N
requests of each kind are timed: a search (anonymous, signed in), a material page, a download,
an upload through the API.

    .venv/bin/python bench/request_costs.py --materials 100000 [--n 300] [--profile search-signed-in]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import database_url, default_cache  # noqa: E402
from bench.load_queries import queries  # noqa: E402
from bench.load_seed import Deployment, is_seeded  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KINDS = ("search-anonymous", "search-signed-in", "material-page", "download", "upload")
NO_CACHES = {"SEARCH_RESULT_CACHE": "0", "SEARCH_RESULT_MAX_AGE": "0", "SEARCH_PAGE_MAX_AGE": "0",
             "LOGIN_RATE_LIMIT": "100000 per minute", "API_IP_RATE_LIMIT": "100000 per minute"}


def requests(app: Any, plan: dict[str, Any], rng: random.Random) -> dict[str, Callable[[], Any]]:
    """One callable per kind, each making one request like the load mix's."""
    chosen, weights = queries(300)
    downloadable = plan["downloadable"]
    popularity = [downloads + 1 for _m, _f, downloads in downloadable]
    teacher = plan["people"][0]
    anonymous, signed_in = app.test_client(), app.test_client()
    form = signed_in.get("/login").get_data(as_text=True)
    signed_in.post("/login", data={"csrf_token": CSRF.search(form).group(1), "email": teacher["email"],
                                   "password": teacher["password"], "next": ""})

    def search(client: Any) -> Any:
        return client.get("/search?" + urlencode(rng.choices(chosen, weights=weights)[0]))

    def material() -> tuple[int, int]:
        material_id, file_id, _downloads = rng.choices(downloadable, weights=popularity)[0]
        return material_id, file_id

    def upload() -> Any:
        item = plan["uploads"][rng.randrange(len(plan["uploads"]))]
        with open(item["path"], "rb") as source:
            data = {"title": item["title"], "subject": item["subject"], "grades": item["grade"],
                    "material_type": "PHIEU_HOC_TAP", "licence": "CC_BY_4", "description": item["title"],
                    "file": (source, os.path.basename(item["path"]))}
            return anonymous.post("/api/v1/materials", data=data, headers={"Authorization": f"Bearer {teacher['token']}"})

    for args in chosen:
        anonymous.get("/search?" + urlencode(args))
        signed_in.get("/search?" + urlencode(args))
    return {"search-anonymous": lambda: search(anonymous), "search-signed-in": lambda: search(signed_in),
            "material-page": lambda: anonymous.get("/materials/%d" % material()[0]),
            "download": lambda: anonymous.get("/materials/%d/files/%d/download" % material()),
            "upload": upload}


def measure(request: Callable[[], Any], n: int, profile: bool) -> tuple[float, float]:
    """(CPU ms, wall ms) per request over n requests after 20 unmeasured ones."""
    for _ in range(20):
        request()
    profiler = cProfile.Profile() if profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(n):
        response = request()
        if response.status_code not in (200, 201):
            raise SystemExit(f"unexpected {response.status_code}: {response.get_data(as_text=True)[:300]}")
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return (time.process_time() - cpu) / n * 1000, (time.perf_counter() - wall) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--materials", type=int, default=100_000, help="the seeded deployment to use")
    parser.add_argument("--database", default="postgresql", help="as for bench/load.py")
    parser.add_argument("--n", type=int, default=300, help="requests timed per kind")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--profile", choices=KINDS, help="print a cProfile of this kind (inflates its time)")
    parser.add_argument("--cache", type=Path, default=default_cache())
    args = parser.parse_args()
    folder = args.cache / f"{'sqlite' if args.database == 'sqlite' else 'pg'}-{args.materials}"
    deployment = Deployment(folder, database_url(args.database, args.materials, folder))
    if not is_seeded(deployment, args.materials):
        raise SystemExit(f"no seeded deployment in {folder}: run bench/load.py --materials {args.materials} first")
    os.environ.update(deployment.env)
    from app import create_app

    app = create_app(NO_CACHES)
    made = requests(app, json.loads(deployment.plan_path.read_text()), random.Random(1))
    for kind in args.kinds.split(","):
        cpu, wall = measure(made[kind], args.n, args.profile == kind)
        print(f"{kind:<17} CPU {cpu:6.1f} ms   wall {wall:6.1f} ms   per request ({args.n} requests)")


if __name__ == "__main__":
    main()
