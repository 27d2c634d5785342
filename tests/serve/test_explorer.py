"""The explorer (issue 18): its answers against the model's own computations, a fuzzed set of
requests that must all end 4xx (never 500) with the server still answering, and the page in a
real headless Chromium: click the map, move a slider, read back what was decoded."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time

import numpy as np
import pytest
import torch

import vaekit
from vaekit.serve import BadRequest, Explorer

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from vaekit.serve.app import make_app  # noqa: E402


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    root = tmp_path_factory.mktemp("explore")
    run = vaekit.train(data="digits", epochs=3, latent_dim=3, hidden="16", out=root / "r",
                       quiet=True)  # fmt: skip
    run = vaekit.training.load_run(root / "r")
    ds = vaekit.load_dataset(run.config.data)
    return Explorer(run, ds.inputs("test"), ds.labels.get("test"), max_points=300)


def _model_decode(ex, z):
    with torch.no_grad():
        x = ex.model.decode(torch.tensor(np.asarray(z, np.float32))[None]).mean.numpy()
    return ex.run.transform.invert(x)[0] if ex.run.transform else x[0]


def test_answers_are_the_models_own(explorer):
    ex = explorer
    out = ex.decoded({"z": [0.5, -1.0, 2.0]})
    np.testing.assert_allclose(out["values"], _model_decode(ex, [0.5, -1.0, 2.0]), atol=1e-6)
    # a map position is the latent whose projection is that position
    xy = ex.xy[7]
    z = np.array(ex.decoded({"xy": list(map(float, xy))})["z"])
    np.testing.assert_allclose(ex.pca.transform(z[None])[0], xy, atol=1e-5)
    # the map's points are the posterior means, projected
    with torch.no_grad():
        mu = ex.model.encode(torch.from_numpy(ex.rows)).mean.double().numpy()
    np.testing.assert_allclose(ex.z, mu, atol=1e-6)
    info = ex.info()
    assert info["dims"][0] == int(np.argmax(info["activity"])) and info["points"] == 300
    top = ex.anomalies(5)
    assert top["score_nats"] == sorted(top["score_nats"], reverse=True)
    assert len(ex.interpolate("0", "1", "4")["spherical"]) == 4
    assert len(ex.samples("3", "0")["images"]) == 3


FUZZ = [
    ("post", "/api/decode", b"not json"),
    ("post", "/api/decode", b"[1, 2, 3]"),
    ("post", "/api/decode", b'{"z": [NaN, 0, 0]}'),
    ("post", "/api/decode", b'{"z": [Infinity, 0, 0]}'),
    ("post", "/api/decode", b'{"z": [1e308, 0, 0]}'),
    ("post", "/api/decode", b'{"z": [0, 0]}'),
    ("post", "/api/decode", b'{"z": "000"}'),
    ("post", "/api/decode", b'{"z": [true, 0, 0]}'),
    ("post", "/api/decode", b'{"xy": [0]}'),
    ("post", "/api/decode", b'{"xy": [1, {"a": 1}]}'),
    ("post", "/api/decode", b'{"z": [0, 0, 0], "class": "3"}'),
    ("post", "/api/decode", b"{}"),
    ("post", "/api/decode", b'{"z": [' + b"9" * 400 + b", 0, 0]}"),
    ("get", "/api/interpolate?i=%2B-1&j=2", None),
    ("get", "/api/interpolate?i=--1&j=2", None),
    ("get", "/api/samples?n=%C2%B2", None),
    ("post", "/api/decode", b"[" * 5000 + b"]" * 5000),
    ("post", "/api/decode", b'{"z": [' + b"0," * 40000 + b"0]}"),
    ("get", "/api/decode", None),
    ("get", "/api/interpolate?i=0&j=1e9", None),
    ("get", "/api/interpolate?i=-1&j=2", None),
    ("get", "/api/interpolate?i=0&j=1&steps=100000", None),
    ("get", "/api/interpolate", None),
    ("get", "/api/samples?n=NaN", None),
    ("get", "/api/samples?n=99999999999999999999999", None),
    ("get", "/api/samples?n=4&seed=-3", None),
    ("get", "/api/anomalies?n=0", None),
    ("get", "/static/../../etc/passwd", None),
    ("get", "/static/%2e%2e%2fapp.py", None),
    ("get", "/static/index.html/../../explorer.py", None),
    ("get", "/etc/passwd", None),
]


def test_fuzzed_requests_get_4xx_and_the_server_keeps_working(explorer):
    client = TestClient(make_app(explorer, ("testserver",)), raise_server_exceptions=True)
    rng = np.random.default_rng(0)
    for method, path, body in FUZZ:
        r = client.post(path, content=body) if method == "post" else client.get(path)
        assert 400 <= r.status_code < 500, (path, body and body[:60], r.status_code, r.text)
        assert "error" in r.json() and "Traceback" not in r.text
    for _ in range(200):  # random JSON of random shapes: answered, or refused with a 4xx
        values = [
            None,
            True,
            "x" * int(rng.integers(0, 50)),
            float(rng.normal()),
            list(rng.normal(size=int(rng.integers(0, 6))) * 10.0 ** rng.integers(0, 300)),
        ]
        body = {str(rng.choice(["z", "xy", "class", "w"])): values[rng.integers(len(values))]
                for _ in range(int(rng.integers(1, 3)))}  # fmt: skip
        r = client.post("/api/decode", content=json.dumps(body).encode())
        assert r.status_code == 200 or 400 <= r.status_code < 500, (body, r.text)
    ok = client.post("/api/decode", json={"z": [0.0, 0.0, 0.0]})
    assert ok.status_code == 200 and len(ok.json()["values"]) == 64
    page = client.get("/")
    assert page.status_code == 200 and "explorer.js" in page.text
    # another Host (a DNS-rebinding page) is refused
    assert client.get("/api/info", headers={"host": "evil.example"}).status_code == 400


def test_bad_requests_are_bad_requests(explorer):
    with pytest.raises(BadRequest, match="z must be a list of 3"):
        explorer.decoded({"z": [0.0]})


# --- the page in a real browser
def _browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser test: apt-get install chromium chromium-driver")
    pytest.skip("no chromium/chromedriver here (apt-get install chromium chromium-driver)")


@pytest.fixture()
def served(explorer):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(make_app(explorer), host="127.0.0.1", port=0,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


def test_page_decodes_where_clicked_and_as_slid(explorer, served):
    chromium, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        opts.add_argument(a)
    opts.binary_location = chromium
    d = webdriver.Chrome(options=opts, service=Service(driver_path))
    try:
        d.get(served)
        wait = WebDriverWait(d, 30)
        wait.until(lambda d: d.execute_script("return window.vaekitReady === true"))
        last = lambda: d.execute_script("return window.vaekitLast")  # noqa: E731
        first = last()
        ActionChains(d).move_to_element_with_offset(d.find_element(By.ID, "map"), 90, -70
                                                    ).click().perform()  # fmt: skip
        wait.until(lambda d: last()["version"] > first["version"])
        clicked = last()
        assert clicked["z"] != first["z"]
        np.testing.assert_allclose(clicked["values"], _model_decode(explorer, clicked["z"]),
                                   atol=1e-5)  # fmt: skip
        src = d.find_element(By.ID, "decoded").get_attribute("src")
        top = explorer.info()["dims"][0]
        slider = d.find_element(By.ID, f"dim-{top}")
        ActionChains(d).click_and_hold(slider).move_by_offset(60, 0).release().perform()
        wait.until(lambda d: last()["version"] > clicked["version"]
                   and abs(last()["z"][top] - clicked["z"][top]) > 0.1)  # fmt: skip
        wait.until(lambda d: d.execute_script("return !document.getElementById('decoded')"
                                              ".isConnected || true"))  # fmt: skip
        slid = last()
        others = [i for i in range(3) if i != top]
        np.testing.assert_allclose(np.array(slid["z"])[others], np.array(clicked["z"])[others])
        np.testing.assert_allclose(slid["values"], _model_decode(explorer, slid["z"]), atol=1e-5)
        assert d.find_element(By.ID, "decoded").get_attribute("src") != src
    finally:
        d.quit()


def test_a_vector_conditional_run_decodes_the_asked_condition(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((200, 4, 4)) > 0.5).astype(np.uint8)
    v = rng.normal(size=(200, 2)) * [1.0, 5.0] + [0.0, 3.0]
    np.savez(tmp_path / "d.npz", train=x[:150], test=x[150:], train_cond=v[:150],
             test_cond=v[150:])  # fmt: skip
    vaekit.train(data=str(tmp_path / "d.npz"), condition="vector", prior="learned", hidden="8",
                 latent_dim=2, epochs=2, out=tmp_path / "r", quiet=True)  # fmt: skip
    run = vaekit.training.load_run(tmp_path / "r")
    ds = vaekit.training.conditioning.conditioned(vaekit.load_dataset(run.config.data),
                                                   run.config.model)  # fmt: skip
    ex = Explorer(run, ds.inputs("test"), None)
    assert ex.info()["condition_mean"] == pytest.approx(list(run.config.model.condition_mean))
    out = ex.decoded({"z": [0.1, -0.2], "condition": [1.0, -4.0]})
    m = run.model
    with torch.no_grad():
        f = m.condition.features_of(None, torch.tensor([[1.0, -4.0]]))
        want = m.decode(torch.tensor([[0.1, -0.2]]), f).mean.numpy()[0]
    np.testing.assert_allclose(out["values"], want, atol=1e-6)
    for bad in ([1.0], [1.0, float("nan")], "x"):
        with pytest.raises(BadRequest, match="condition"):
            ex.decoded({"z": [0.0, 0.0], "condition": bad})
