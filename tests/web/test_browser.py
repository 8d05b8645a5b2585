"""The page in a real headless Chromium whose microphone plays a real clip on a loop.

Chromium's fake capture device (``--use-file-for-fake-audio-capture``) stands in for the
microphone; the page records through the Web Audio API exactly as it would from a real one.
Screenshots of both views are written to tests/web/artifacts/ (or $TINYAUDIO_ARTIFACTS).
"""

from __future__ import annotations

import collections
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless browser tests need Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)
pytest.importorskip("selenium", reason="browser tests need selenium (pip install selenium)")
pytest.importorskip("uvicorn", reason="browser tests need the web extra (uvicorn, starlette)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving ``create_app(...)`` on 127.0.0.1 in a background thread."""

    def __init__(self, **app_kwargs):
        import uvicorn

        from tinyaudio.web.app import create_app

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        config = uvicorn.Config(create_app(**app_kwargs), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def chromium(fake_capture: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1100,900",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={fake_capture}", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait_for(driver, condition, timeout=20.0, what="condition"):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d))
    except Exception:
        status = driver.execute_script("return document.getElementById('status').textContent")
        pytest.fail(f"timed out after {timeout} s waiting for {what}; page status: {status!r}")


def open_page(driver, url):
    driver.get(url)
    wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready === '1'"), what="page load")


def test_record_a_clip_through_the_page(tmp_path, data_root, artifacts_dir):
    import soundfile as sf
    from selenium.webdriver.common.by import By

    fake = sorted((data_root / "speech_commands_v0.02_test_dev" / "yes").glob("*.wav"))[0]
    root = tmp_path / "recordings"
    with Server(root=root, runs_dir=tmp_path / "runs", sample_rate=16000) as server:
        driver = chromium(fake)
        try:
            open_page(driver, server.url)
            # refused label: nothing is recorded or written
            driver.find_element(By.ID, "new-label").send_keys("../evil")
            driver.find_element(By.ID, "record-btn").click()
            assert "refused" in driver.find_element(By.ID, "status").text
            assert not root.exists()

            label = driver.find_element(By.ID, "new-label")
            label.clear()
            label.send_keys("yes")
            countdown = driver.find_element(By.ID, "countdown")
            countdown.clear()
            countdown.send_keys("1")
            driver.find_element(By.ID, "record-btn").click()
            wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#takes .take"), what="the take to be saved")
            status = driver.find_element(By.ID, "status").text
            assert status.startswith("saved yes/0001.wav"), status
            shot = artifacts_dir / "record_view.png"
            driver.save_screenshot(str(shot))
            print(f"record view screenshot: {shot}")

            path = root / "yes" / "0001.wav"
            info = sf.info(str(path))
            assert (info.format, info.samplerate, info.channels, info.frames) == ("WAV", 16000, 1, 16000)
            samples, _ = sf.read(str(path), dtype="float32")
            assert np.sqrt(np.mean(samples ** 2)) > 1e-3, "recorded clip is silent"
            assert not [p for p in root.rglob("*") if p.is_file() and p.suffix != ".wav"], "temp files left behind"

            driver.find_element(By.CSS_SELECTOR, "#takes .take button.delete").click()
            wait_for(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, "#takes .take"), what="the take to be deleted")
            assert not path.exists()
        finally:
            driver.quit()


def looped_clip(src: Path, dst: Path, period_s: float = 1.0, rate: int = 48000) -> Path:
    """``src`` resampled to ``rate`` and padded with silence to ``period_s``: one loop of the fake mic."""
    import soundfile as sf

    from tinyaudio.data.audio import fix_length, load_audio

    sf.write(str(dst), fix_length(load_audio(src, rate), int(period_s * rate)), rate, subtype="PCM_16")
    return dst


def test_live_view_shows_the_spoken_digit(tmp_path, data_root, fsdd_run, artifacts_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tinyaudio.runtime import Classifier

    # a real FSDD recording that the model itself gets right offline: this tests the page, not the model
    classifier = Classifier(fsdd_run)
    candidates = [data_root / "fsdd" / "recordings" / f"{d}_jackson_{t}.wav" for t in (0, 1, 2) for d in (7, 3, 0, 5, 2)]
    preds = classifier.predict_files(candidates)
    clip, digit = next((Path(p.path), p.label) for p in preds if p.label == Path(p.path).name[0] and p.confidence > 0.8)
    fake = looped_clip(clip, tmp_path / f"fake_mic_{digit}.wav")

    with Server(root=tmp_path / "recordings", runs_dir=fsdd_run.parent, sample_rate=8000) as server:
        driver = chromium(fake)
        try:
            open_page(driver, server.url + "#live")
            Select(driver.find_element(By.ID, "run-select")).select_by_value(fsdd_run.name)
            driver.find_element(By.ID, "live-start").click()
            wait_for(driver, lambda d: d.execute_script("return window.liveHistory.length") >= 40, timeout=30,
                     what="40 live score messages")
            wait_for(driver, lambda d: d.find_element(By.ID, "live-top").text == digit, timeout=10,
                     what=f"the live view to show {digit!r}")
            shot = artifacts_dir / "live_view.png"
            driver.save_screenshot(str(shot))
            print(f"live view screenshot: {shot}")
            history = driver.execute_script("return window.liveHistory")
            detections = [li.text.split()[0] for li in driver.find_elements(By.CSS_SELECTOR, "#detections li")]
            assert detections and set(detections) == {digit}, detections
            bars = driver.find_elements(By.CSS_SELECTOR, "#bars .bar")
            assert [b.get_attribute("data-label") for b in bars] == classifier.labels
            driver.find_element(By.ID, "live-stop").click()
        finally:
            driver.quit()
    counts = collections.Counter(history[5:])  # the first second is mostly the zero-padded window
    print(f"live top labels for {clip.name} looped: {dict(counts)}")
    assert counts.most_common(1)[0][0] == digit, counts
