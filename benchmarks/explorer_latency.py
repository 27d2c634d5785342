"""How fast the explorer answers: HTTP round trips of `/api/decode` (a latent in, a PNG and the
values out) against a running `vaekit serve`, for the MNIST MLP on this CPU; and the screenshot
of the page in docs/explorer.png. The goal of issue 18 is < 50 ms per decoded point.

    python benchmarks/explorer_latency.py [--runs DIR] [--data-dir ../shared/data]

The run is the classic MLP (784-400-20, Bernoulli, 10 epochs on static binarized MNIST),
trained once into --runs. The server is the real command line (`vaekit serve`, one process,
its own threads); requests come from this process one after another, as a dragging user's
do, half by latent and half by map position. Prints the median and the 90th percentile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from cli_runs import replace_block, train

ROOT = Path(__file__).resolve().parent.parent
NET = ["--hidden", "400", "--latent-dim", "20", "--likelihood", "bernoulli", "--batch-size",
       "128", "--epochs", "10", "--seed", "0"]  # fmt: skip


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def screenshot(url: str, out: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1500,1150"):
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or "chromium"
    d = webdriver.Chrome(options=opts, service=Service(shutil.which("chromedriver")))
    try:
        d.get(url)
        WebDriverWait(d, 60).until(lambda d: d.execute_script("return window.vaekitReady"))
        ActionChains(d).move_to_element_with_offset(d.find_element(By.ID, "map"), 70, -60
                                                    ).click().perform()  # fmt: skip
        for button in ("sample", "anomalies", "interpolate"):
            d.find_element(By.ID, button).click()
        time.sleep(4)
        d.execute_script("window.scrollTo(0, 0)")
        d.save_screenshot(str(out))
    finally:
        d.quit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", default=str(ROOT / "runs" / "explorer"))
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--screenshot", default=str(ROOT / "docs" / "explorer.png"))
    a = ap.parse_args()
    run = Path(a.runs) / "mnist-mlp"
    train(["--data", "binarized-mnist", "--data-dir", a.data_dir, *NET, "--quiet"], run, 2)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "vaekit", "serve", str(run), "--port",
                               str(port), "--max-points", "3000"],
                              env=dict(os.environ, OMP_NUM_THREADS="2"))  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # the server loads the model and encodes the map first
            try:
                info = json.loads(urllib.request.urlopen(url + "/api/info", timeout=2).read())
                break
            except OSError:
                time.sleep(0.1)
        rng = np.random.default_rng(0)
        times = []
        for i in range(a.requests):
            body = ({"z": rng.normal(size=info["latent_dim"]).tolist()} if i % 2 else
                    {"xy": rng.normal(size=2).tolist()})  # fmt: skip
            t0 = time.perf_counter()
            out = _post(url + "/api/decode", body)
            times.append(time.perf_counter() - t0)
            assert len(out["values"]) == 784
        times = times[20:]  # warm-up
        ms = sorted(1000 * t for t in times)
        res = {
            "requests": len(ms),
            "median_ms": statistics.median(ms),
            "p90_ms": ms[int(0.9 * len(ms))],
            "max_ms": ms[-1],
            "goal_ms": 50,
        }
        print(json.dumps(res))
        replace_block(ROOT / "docs" / "explorer.md", (
            f"Measured by `python benchmarks/explorer_latency.py` on this project's 2-core CPU "
            f"(the classic MNIST MLP, 784-400-20; the real `vaekit serve` process; {len(ms)} "
            f"decode requests one after another, half by latent and half by map position, "
            f"each answered with a PNG and the 784 values): median **{res['median_ms']:.1f} ms**, "
            f"90th percentile {res['p90_ms']:.1f} ms, slowest {res['max_ms']:.1f} ms, over "
            "HTTP on localhost — the goal is under 50 ms."), "latency")  # fmt: skip
        if a.screenshot and shutil.which("chromedriver"):
            screenshot(url + "/", Path(a.screenshot))
            print(f"wrote {a.screenshot}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
