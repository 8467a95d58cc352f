"""The HTML report: written by `fluoro report --format html`, `--html` and `fluoro run --html`,
and the page itself driven in Debian's headless Chromium (selenium, the system browser and
chromedriver; scripts/test installs them). Screenshots of each view go to
target/html-screens/ for a person to look at."""

from __future__ import annotations

import hashlib
import json
import shutil
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from conftest import HERE, PROGRAMS, fluoro, run

APP = PROGRAMS / "html_app.py"
SCREENS = HERE.parent / "target" / "html-screens"
HOSTILE_NAME = '</script><img src=x onerror="window.__pwned=1">'
# Root in a container: no sandbox; a small /dev/shm: shared memory in /tmp.
HEADLESS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "app.fluoro"
    result = fluoro("run", "-q", "--rate", "200", "-o", path, APP)
    assert result.returncode == 0, result.stderr.decode()
    return path


@pytest.fixture(scope="module")
def page(profile):
    out = profile.with_suffix(".html")
    result = fluoro("report", profile, "--format", "html", "-o", out)
    assert result.returncode == 0, result.stderr.decode()
    return out


# ---- writing the page ------------------------------------------------------------------------


def test_report_html_flag_is_format_html(profile, page, tmp_path):
    out = tmp_path / "flag.html"
    result = fluoro("report", profile, "--html", out)
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_bytes() == page.read_bytes()
    both = fluoro("report", profile, "--html", out, "--format", "json")
    assert both.returncode == 2
    assert len(both.stderr.decode().strip().splitlines()) == 1


def test_run_html_writes_beside_the_run_under_the_scripts_name(tmp_path):
    script = tmp_path / "tiny.py"
    script.write_text("sum(range(100000))\n")
    result = fluoro("run", "-q", "--html", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    written = tmp_path / "tiny.fluoro.html"
    assert written.read_text().startswith("<!DOCTYPE html>")
    named = tmp_path / "named.html"
    result = fluoro("run", f"--html={named}", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert f"HTML report: {named}" in result.stderr.decode()
    assert "fluoro-data" in named.read_text()


def test_run_html_into_a_missing_directory_is_one_line(tmp_path):
    result = fluoro("run", f"--html={tmp_path}/no/such/r.html", "-c", "pass")
    assert result.returncode == 2
    assert result.stderr.decode().strip().count("\n") == 0
    assert "cannot write" in result.stderr.decode()


def test_the_api_reports_html(current, tmp_path):
    code = (
        "import fluoro\n"
        "with fluoro.profile() as p:\n"
        "    sum(i * i for i in range(300000))\n"
        "page = p.report(format='html')\n"
        "assert isinstance(page, str) and page.startswith('<!DOCTYPE html>'), page[:40]\n"
        "print(len(page))\n"
    )
    result = run([current.python, "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert int(result.stdout) > 10_000


def test_hostile_names_are_data_not_markup(page):
    text = page.read_text()
    assert text.count("</script>") == 2
    assert "<img" not in text
    data = text.split('id="fluoro-data">', 1)[1].split("</script>", 1)[0]
    doc = json.loads(data)
    assert HOSTILE_NAME in doc["functions"]["name"]
    assert any('it\'s "quoted" <here>.py' in f["path"] for f in doc["files"])


# ---- the page in Chromium -------------------------------------------------------------------


def chromium() -> webdriver.Chrome:
    """Debian's headless Chromium through its chromedriver (also used by the benchmark)."""
    binary = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert binary and driver_path, "install chromium and chromium-driver (scripts/test does)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in HEADLESS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    SCREENS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def load(browser, path):
    browser.get(path.resolve().as_uri())
    deadline = time.monotonic() + 20
    while not browser.execute_script("return document.body.dataset.ready === '1'"):
        assert time.monotonic() < deadline, "the page never finished drawing"
        time.sleep(0.05)


def canvas_hash(browser, element_id="flame"):
    url = browser.execute_script(f"return document.getElementById('{element_id}').toDataURL()")
    return hashlib.sha256(url.encode()).hexdigest()


def flame(browser):
    return browser.find_element("id", "flame")


def table_names(browser, table="functions"):
    rows = f"table[data-table={table}] tbody tr td:first-child"
    return [c.text for c in browser.find_elements("css selector", rows)]


def test_the_page_loads_with_no_error_and_no_network(browser, page):
    browser.get_log("performance")
    browser.get(page.resolve().as_uri())
    deadline = time.monotonic() + 20
    while not browser.execute_script("return document.body.dataset.ready === '1'"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    assert urls and all(u.startswith("file://") for u in urls), urls
    timings = browser.execute_script("return window.__fluoroTimings")
    assert 0 < timings["firstDraw"] < 5000
    browser.save_screenshot(str(SCREENS / "flame.png"))


def test_the_flame_graph_draws_and_zoom_redraws_it(browser, page):
    load(browser, page)
    canvas = flame(browser)
    rects = int(canvas.get_attribute("data-rects"))
    assert rects > 10
    before = canvas_hash(browser)
    # Left-heavy puts the heaviest child of "all" first: click it, one row above the root.
    browser.find_element("id", "left-heavy").click()
    height = canvas.size["height"]
    ActionChains(browser).move_to_element_with_offset(
        canvas, -canvas.size["width"] // 2 + 4, height // 2 - 18 - 9
    ).click().perform()
    assert canvas.get_attribute("data-zoom") != "0"
    assert canvas_hash(browser) != before
    crumbs = browser.find_elements("css selector", "#crumbs button")
    assert len(crumbs) == 2 and crumbs[0].text == "all"
    browser.save_screenshot(str(SCREENS / "flame-zoomed.png"))
    crumbs[0].click()
    assert canvas.get_attribute("data-zoom") == "0"
    browser.execute_script("__fluoro.zoomTo(__fluoro.heaviestChild(0))")
    assert canvas.get_attribute("data-zoom") != "0"
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    assert canvas.get_attribute("data-zoom") == "0"
    browser.find_element("id", "mode-icicle").click()
    browser.save_screenshot(str(SCREENS / "icicle.png"))


def test_search_highlights_and_tells_the_share(browser, page):
    load(browser, page)
    before = canvas_hash(browser)
    browser.find_element("id", "search").send_keys("first_phase")
    info = browser.find_element("id", "search-info").text
    assert info.startswith("1 function matches: "), info
    share = float(flame(browser).get_attribute("data-match-share"))
    assert 0.05 < share < 0.9, share
    assert canvas_hash(browser) != before
    browser.save_screenshot(str(SCREENS / "search.png"))


def test_the_metric_switch_changes_the_graph_and_tables(browser, page):
    load(browser, page)
    metric = browser.find_element("id", "metric")
    options = [o.get_attribute("value") for o in metric.find_elements("tag name", "option")]
    assert {"wall", "cpu", "gil", "alloc", "peak", "leak"} <= set(options), options
    wall = canvas_hash(browser)
    Select(metric).select_by_value("leak")
    assert canvas_hash(browser) != wall
    # What is still live at the end was allocated by keep_buffers.
    assert table_names(browser)[0] == "keep_buffers"
    Select(metric).select_by_value("cpu")
    assert table_names(browser)[0] != "keep_buffers"


def test_a_time_range_redraws_the_tables(browser, page):
    load(browser, page)
    names = table_names(browser)
    assert "first_phase" in names and "second_phase" in names
    timeline = browser.find_element("id", "timeline")
    width = timeline.size["width"]
    plot = width - 130
    # The first phase ran first, for about 0.6 s of the 1.5 s: select the first third.
    left = -width // 2 + 130 + 2
    drag = ActionChains(browser).move_to_element_with_offset(timeline, left, 0)
    drag.click_and_hold().move_by_offset(int(plot * 0.3), 0).release().perform()
    assert timeline.get_attribute("data-range")
    names = table_names(browser)
    assert "first_phase" in names and "second_phase" not in names, names
    assert "Showing" in browser.find_element("id", "range-info").text
    browser.save_screenshot(str(SCREENS / "timeline-range.png"))
    # Allocations count in their time slices too: keep_buffers ran in the second phase only.
    Select(browser.find_element("id", "metric")).select_by_value("alloc")
    assert "keep_buffers" not in table_names(browser)
    browser.find_element("id", "range-clear").click()
    assert "keep_buffers" in table_names(browser)
    Select(browser.find_element("id", "metric")).select_by_value("wall")
    assert "second_phase" in table_names(browser)


def test_hostile_names_stay_text_in_the_page(browser, page):
    load(browser, page)
    browser.find_element("id", "search").send_keys("onerror")
    assert browser.find_element("id", "search-info").text.startswith("1 function matches")
    assert HOSTILE_NAME in table_names(browser)
    assert browser.find_elements("tag name", "img") == []
    assert browser.execute_script("return window.__pwned === undefined")
    where = browser.find_elements("css selector", "table[data-table=functions] td.where")
    assert any('it\'s "quoted" <here>.py' in w.text for w in where)


def test_every_tab_renders_and_a_frame_opens_its_source(browser, page):
    load(browser, page)
    tabs = browser.find_elements("css selector", "#tabs button")
    labels = [t.text for t in tabs]
    assert labels[:4] == ["Functions", "Lines", "Threads", "Source"], labels
    assert "Memory" in labels and "GC" in labels
    for tab in tabs:
        tab.click()
        panel = browser.find_element("id", "panel-" + tab.get_attribute("id")[4:])
        assert panel.is_displayed() and panel.text.strip(), tab.text
        browser.save_screenshot(str(SCREENS / f"tab-{tab.text.lower()}.png"))
    browser.find_element("id", "tab-gc").click()
    assert "<module>" in table_names(browser, "gc-triggers")
    browser.find_element("id", "tab-threads").click()
    assert "background-worker" in table_names(browser, "threads")
    # Zoom to the heaviest frame: its function's lines open in the source view.
    browser.execute_script("const f = window.__fluoro; f.zoomTo(f.heaviestChild(0))")
    browser.find_element("id", "left-heavy").click()
    canvas = flame(browser)
    ActionChains(browser).move_to_element_with_offset(
        canvas, -canvas.size["width"] // 2 + 4, canvas.size["height"] // 2 - 9
    ).click().perform()
    assert browser.find_element("id", "panel-source").is_displayed()
    focused = browser.find_elements("css selector", "#panel-source tr.focus")
    assert focused, "the clicked frame's lines are marked"
    browser.save_screenshot(str(SCREENS / "source.png"))


def test_a_run_with_almost_nothing_in_it_renders_without_errors(browser, tmp_path):
    page = tmp_path / "empty.html"
    result = fluoro("run", "-q", "--cpu-only", f"--html={page}", "-c", "pass", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    browser.get_log("browser")
    load(browser, page)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert browser.find_element("id", "metric").get_attribute("value") == "wall"
    assert browser.find_element("id", "panel-functions").is_displayed()


def test_run_advise_puts_the_ranked_findings_in_the_page(browser, tmp_path):
    prog = tmp_path / "prog.py"
    shutil.copy(PROGRAMS / "advise_hot_cold.py", prog)
    page = tmp_path / "advised.html"
    result = fluoro("run", "-q", "--advise", f"--html={page}", prog, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b"", "-q prints no advice"
    load(browser, page)
    browser.find_element("id", "tab-advice").click()
    rules = table_names(browser, "advice")
    assert rules[0].startswith("FLU101"), rules
    assert any(r.startswith("FLU102") for r in rules), rules
    browser.save_screenshot(str(SCREENS / "tab-advice.png"))


def test_run_heap_at_exit_puts_the_census_in_the_page(browser, tmp_path):
    page = tmp_path / "heap.html"
    code = "kept = [list(range(50)) for _ in range(3000)]"
    result = fluoro("run", "-q", "--heap-at-exit", f"--html={page}", "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    load(browser, page)
    browser.find_element("id", "tab-heap").click()
    assert "list" in table_names(browser, "heap-types")[:3]
    assert table_names(browser, "heap-retainers")[0] == "list"
    browser.save_screenshot(str(SCREENS / "tab-heap.png"))


def test_a_run_of_several_processes_filters_by_process(browser, tmp_path):
    out = tmp_path / "children.html"
    result = fluoro(
        "run", "-q", "--subprocesses", f"--html={out}", PROGRAMS / "children" / "run_child.py"
    )
    assert result.returncode == 0, result.stderr.decode()
    load(browser, out)
    process = browser.find_element("id", "process")
    assert process.is_displayed()
    options = [o.text for o in process.find_elements("tag name", "option")]
    assert options[0] == "All processes" and len(options) == 3, options
    assert options[2].endswith("child.py"), options
    assert "work" in table_names(browser)
    everything = canvas_hash(browser)
    Select(process).select_by_index(1)
    assert "work" not in table_names(browser)
    assert canvas_hash(browser) != everything
    # Only the chosen process's threads are offered (and "All threads").
    offered = "return [...document.getElementById('thread').options].filter(o => !o.hidden).length"
    assert browser.execute_script(offered) == 2
    Select(process).select_by_index(2)
    assert table_names(browser)[0] == "work"


def test_an_async_run_lists_its_tasks_and_a_task_finds_its_stacks(browser, tmp_path):
    profile = tmp_path / "tasks.fluoro"
    program = PROGRAMS / "asyncio_tasks.py"
    result = fluoro("run", "-q", "--async", "-o", profile, program, tmp_path / "truth.json")
    assert result.returncode == 0, result.stderr.decode()
    exported = tmp_path / "tasks.json"
    out = tmp_path / "tasks.html"
    for fmt, path in (("json", exported), ("html", out)):
        done = fluoro("report", profile, "--format", fmt, "-o", path)
        assert done.returncode == 0, done.stderr.decode()
    tasks = json.loads(exported.read_text())["tasks"]
    load(browser, out)
    browser.find_element("id", "tab-tasks").click()
    shown = browser.find_element("css selector", "table[data-table=tasks]")
    assert shown.get_attribute("data-rows") == str(len(tasks))
    # Most running first, as the JSON lists them; each row's share is the JSON's.
    names = table_names(browser, "tasks")
    assert names[0] == "worker", names[:5]
    cells = shown.find_elements("css selector", "tbody tr:first-child td")
    assert cells[2].text == f"{tasks[0]['running_share'] * 100:.1f} %", [c.text for c in cells]
    # Where each waited longest: the fillers, at their one await on the event.
    filler = [r for r in shown.find_elements("css selector", "tbody tr") if "filler-" in r.text]
    assert filler and "wait" in filler[0].text.split()[-2], filler[0].text if filler else names
    browser.save_screenshot(str(SCREENS / "tab-tasks.png"))
    # A task's name finds the stacks rooted at it in the flame graph.
    before = canvas_hash(browser)
    cells[0].click()
    assert browser.find_element("id", "search").get_attribute("value") == "<task worker>"
    share = float(flame(browser).get_attribute("data-match-share"))
    assert share >= 0.5, share
    assert canvas_hash(browser) != before
    assert "1 function matches" in browser.find_element("id", "search-info").text


def test_the_process_filter_narrows_the_tasks(browser, tmp_path):
    out = tmp_path / "tasks.html"
    program = PROGRAMS / "children" / "async_tasks.py"
    result = fluoro("run", "-q", "--subprocesses", "--async", f"--html={out}", program)
    assert result.returncode == 0, result.stderr.decode()
    load(browser, out)
    browser.find_element("id", "tab-tasks").click()
    both = table_names(browser, "tasks")
    assert len([n for n in both if n.startswith("worker [pid ")]) == 2, both
    process = Select(browser.find_element("id", "process"))
    process.select_by_index(2)
    pid = process.first_selected_option.text.split()[0]
    shown = table_names(browser, "tasks")
    assert sorted(shown) == sorted(n for n in both if n.endswith(f" [pid {pid}]")), shown
    assert len(shown) == len(both) // 2, (shown, both)
