"""The HTML report and its SVG charts: structure, escaping, edge cases, and a real browser."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from rolodex.exceptions import InputError
from rolodex.share.charts import (
    bar_chart,
    column_chart,
    format_number,
    format_percent,
    format_points,
    heatmap,
    interval_line_chart,
    lift_chart,
)
from rolodex.share.report import (
    CampaignArm,
    CampaignLift,
    CampaignSection,
    ChurnSection,
    ClvSection,
    CohortSection,
    CustomersSection,
    DuplicatesSection,
    FieldQuality,
    ForecastPoint,
    ForecastSection,
    HistogramBin,
    QualitySection,
    ReportData,
    RfmSection,
    TopCustomer,
    WorkspaceSummary,
    render_report,
    write_report,
)

CHROMIUM = "/usr/bin/chromium"
EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SECTION_IDS = (
    "summary",
    "quality",
    "duplicates",
    "customers",
    "rfm",
    "clv",
    "churn",
    "cohorts",
    "campaigns",
    "forecast",
)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


# --- helpers ---------------------------------------------------------------------------------


class _Collector(HTMLParser):
    """Collect every element's tag and attributes, and check that tags nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.styles: list[str] = []
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            self.styles.append(data)


def parse(markup: str) -> _Collector:
    """Parse HTML or SVG markup and return what it holds."""
    parser = _Collector()
    parser.feed(markup)
    parser.close()
    return parser


def elements(markup: str, tag: str, css: str | None = None) -> list[dict[str, str]]:
    """Attributes of every `tag` element (with class `css`, when given)."""
    return [
        attrs
        for name, attrs in parse(markup).elements
        if name == tag and (css is None or css in attrs.get("class", "").split())
    ]


def texts(markup: str) -> list[str]:
    """The text content of every <text> element (without its tooltip)."""
    return re.findall(r"<text [^>]*>(?:<title>[^<]*</title>)?([^<]*)</text>", markup)


def make_report(**changes: Any) -> ReportData:
    """A report with every section filled from realistic made-up numbers."""
    months = [f"{2023 + k // 12}-{k % 12 + 1:02d}" for k in range(24)]
    history = [
        (m, 180_000 + 2_500 * k + (15_000 if k % 12 == 11 else 0)) for k, m in enumerate(months)
    ]
    forecast = [
        ForecastPoint(f"2025-{k + 1:02d}", v, v - 30_000, v + 30_000)
        for k, v in enumerate([245_000, 248_000, 251_000, 254_000, 257_000, 260_000])
    ]
    cohort_labels = [f"2024-{m:02d}" for m in range(1, 13)]
    retention: list[list[float | None]] = []
    for i in range(12):
        row: list[float | None] = [1.0]
        for k in range(1, 12 - i):
            first = 0.23 + (0.02 if i % 2 else -0.02)
            row.append(round(first * 0.85 ** (k - 1), 4))
        retention.append(row + [None] * i)
    data = ReportData(
        generated_at=datetime(2025, 1, 31, 6, 30, tzinfo=UTC),
        title="Acme GmbH customer report",
        summary=WorkspaceSummary(
            sources=4,
            source_records=12_410,
            contacts=9_542,
            companies=1_204,
            orders=48_310,
            quarantined=212,
        ),
        quality=QualitySection(
            score_before=0.71,
            score_after=0.93,
            fields=[
                FieldQuality("email", 0.82, 0.82, 0.74, 0.97),
                FieldQuality("phone", 0.64, 0.64, 0.51, 0.90),
                FieldQuality("country", 0.90, 0.95, 0.80, 0.99),
                FieldQuality("name", 0.97, 0.97, 0.92, 0.98),
            ],
        ),
        duplicates=DuplicatesSection(
            source_records=12_410, customers=9_542, merged_clusters=1_830, pending_reviews=37
        ),
        customers=CustomersSection(
            by_source=[
                ("HubSpot", 3_050),
                ("Shopify", 4_120),
                ("Salesforce", 1_702),
                ("Zendesk", 670),
            ],
            by_country=[
                ("DE", 3_010),
                ("US", 2_400),
                ("FR", 1_500),
                ("GB", 1_200),
                ("NL", 800),
                ("AT", 632),
            ],
        ),
        rfm=RfmSection(
            segments=[
                ("Champions", 310),
                ("Loyal", 380),
                ("Potential Loyalist", 290),
                ("New", 205),
                ("At Risk", 330),
                ("Hibernating", 412),
                ("Lost", 260),
                ("Need Attention", 237),
            ],
            grid=[
                [210, 150, 60, 20, 5],
                [160, 140, 90, 40, 10],
                [90, 120, 130, 80, 30],
                [40, 90, 120, 130, 90],
                [10, 40, 90, 150, 210],
            ],
        ),
        clv=ClvSection(
            bins=[
                HistogramBin(lo, hi, n)
                for lo, hi, n in [
                    (0, 50, 3_120),
                    (50, 100, 2_410),
                    (100, 200, 1_980),
                    (200, 500, 1_240),
                    (500, 1_000, 610),
                    (1_000, 5_000, 182),
                ]
            ],
            top_customers=[
                TopCustomer(1000 + i, f"Customer {i}", 4_800 - 300 * i, 0.97 - i / 50)
                for i in range(10)
            ],
            customers=9_542,
            total_clv=1_234_567.8,
            horizon_weeks=52,
            parameters=[
                ("r", 0.243),
                ("alpha", 4.414),
                ("a", 0.793),
                ("b", 2.426),
                ("p", 6.25),
                ("q", 3.74),
                ("gamma", 15.44),
            ],
        ),
        churn=ChurnSection(
            bins=[
                HistogramBin(k / 10, (k + 1) / 10, n)
                for k, n in enumerate([2_100, 1_800, 1_500, 1_100, 900, 700, 520, 410, 300, 212])
            ],
            auc=0.84,
            reasons=[
                ("tenure < 6 months", 1_320),
                ("contract = month-to-month", 2_010),
                ("no orders in 120 days", 870),
            ],
            model="logistic regression",
        ),
        cohorts=CohortSection(
            cohorts=cohort_labels, retention=retention, sizes=[800 - 20 * i for i in range(12)]
        ),
        campaigns=CampaignSection(
            arms=[
                CampaignArm("Hillstrom", "Mens E-Mail", 21_307, 0.1828, 0.0125, 1.42),
                CampaignArm("Hillstrom", "Womens E-Mail", 21_387, 0.1514, 0.0088, 1.08),
                CampaignArm("Hillstrom", "No E-Mail", 21_306, 0.1062, 0.0057, 0.65),
            ],
            lifts=[
                CampaignLift(
                    "Hillstrom",
                    "Mens E-Mail",
                    "No E-Mail",
                    "visit rate",
                    0.0766,
                    0.0700,
                    0.0832,
                    1e-90,
                ),
                CampaignLift(
                    "Hillstrom",
                    "Womens E-Mail",
                    "No E-Mail",
                    "visit rate",
                    0.0452,
                    0.0390,
                    0.0514,
                    1e-40,
                ),
                CampaignLift(
                    "Winter promo",
                    "SMS",
                    "Hold-out",
                    "conversion rate",
                    -0.012,
                    -0.025,
                    0.001,
                    0.07,
                ),
            ],
        ),
        forecast=ForecastSection(history=history, forecast=forecast, model="Holt-Winters"),
    )
    return replace(data, **changes)


def section(page: str, section_id: str) -> str:
    """The HTML of one report section."""
    match = re.search(rf'<section id="{section_id}".*?</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match.group(0)


def lead(page: str, section_id: str) -> str:
    """The plain text of a section's lead sentence."""
    match = re.search(r'<p class="lead">(.*?)</p>', section(page, section_id), re.S)
    assert match
    return re.sub(r"<[^>]+>", "", match.group(0)).replace("&#x27;", "'")


# --- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "0"), (1_234_567, "1,234,567"), (1_234.6, "1,235"), (-45_000, "-45,000"),
     (12.34, "12.3"), (0.25, "0.25"), (2.5, "2.5")],
)  # fmt: skip
def test_format_number(value: float, expected: str) -> None:
    assert format_number(value) == expected


def test_format_percent_and_points() -> None:
    assert [format_percent(v) for v in (0.171, 0.053, 1.0, 0.0)] == ["17%", "5.3%", "100%", "0%"]
    assert [format_points(v) for v in (0.0766, -0.012, 0.0, 0.07)] == [
        "+7.7 pp",
        "-1.2 pp",
        "0 pp",
        "+7 pp",
    ]


# --- charts --------------------------------------------------------------------------------------

CHARTS: dict[str, Callable[[list[str]], str]] = {
    "bar": lambda labels: bar_chart(labels, [1.0] * len(labels), title="t"),
    "column": lambda labels: column_chart(labels, [1.0] * len(labels), title="t"),
    "line": lambda labels: interval_line_chart(
        labels, [1.0] * len(labels), ["next"], [2.0], [1.0], [3.0], title="t"
    ),
    "heatmap": lambda labels: heatmap(labels, ["c"], [[0.5]] * len(labels), title="t"),
    "lift": lambda labels: lift_chart(
        labels, [0.1] * len(labels), [0.0] * len(labels), [0.2] * len(labels), title="t"
    ),
}


@pytest.mark.parametrize("kind", CHARTS)
def test_chart_escapes_labels(kind: str) -> None:
    svg = CHARTS[kind](["ok", EVIL])
    assert EVIL not in svg
    assert "<script" not in svg
    assert EVIL_ESCAPED in svg


@pytest.mark.parametrize("kind", CHARTS)
def test_chart_is_accessible_and_well_formed(kind: str) -> None:
    svg = CHARTS[kind](["a", "b"])
    root = elements(svg, "svg")
    assert len(root) == 1
    assert root[0]["role"] == "img"
    assert root[0]["aria-label"].startswith("t. ")
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert re.match(r"<svg [^>]*><title>t</title>", svg)
    assert parse(svg).problems == []
    assert "id" not in {key for _, attrs in parse(svg).elements for key in attrs}


def test_long_label_is_cut_with_full_label_as_tooltip() -> None:
    long = "Potential Loyalist customers from the spring newsletter campaign in Bavaria"
    svg = bar_chart([long], [5.0], title="Segments")
    shown = [t for t in texts(svg) if t.startswith("Potential")]
    assert len(shown) == 1
    assert shown[0].endswith("\u2026")
    assert len(shown[0]) < len(long)
    assert f"<title>{long}</title>" in svg


@pytest.mark.parametrize(
    ("chart", "marker"),
    [
        (lambda: bar_chart([], [], title="Empty"), 'class="bar"'),
        (lambda: column_chart([], [], title="Empty"), 'class="bar"'),
        (lambda: interval_line_chart([], [], [], [], [], [], title="Empty"), 'class="pt'),
        (lambda: heatmap([], [], [], title="Empty"), 'class="cell"'),
        (lambda: heatmap(["a"], ["b"], [[None]], title="Empty"), 'class="cell"'),
        (lambda: lift_chart([], [], [], [], title="Empty"), 'class="bar"'),
    ],
)
def test_empty_data_draws_a_placeholder(chart: Callable[[], str], marker: str) -> None:
    svg = chart()
    assert "No data" in texts(svg)
    assert marker not in svg
    assert elements(svg, "svg")[0]["role"] == "img"


def test_bar_chart_has_one_bar_per_value_and_pairs_a_second_series() -> None:
    svg = bar_chart(
        ["email", "phone", "country"],
        [0.74, 0.51, 0.8],
        second=[0.97, 0.9, 0.99],
        title="Validity",
        fmt=format_percent,
    )
    bars = elements(svg, "rect", "bar")
    assert [float(b["data-value"]) for b in bars] == [0.74, 0.97, 0.51, 0.9, 0.8, 0.99]
    widths = [float(b["width"]) for b in bars]
    assert widths[1] > widths[0]  # the longer bar is the larger value
    assert {"74%", "97%", "Before", "After"} <= set(texts(svg))
    # two colours, one per series
    assert len({b["fill"] for b in bars}) == 2


def test_bar_chart_writes_thousands_separators() -> None:
    svg = bar_chart(["Shopify", "HubSpot"], [4_120, 12_345], title="By source")
    assert {"4,120", "12,345"} <= set(texts(svg))
    assert "12345" not in texts(svg)


def test_bar_chart_with_a_single_zero_still_has_an_axis() -> None:
    svg = bar_chart(["only"], [0.0], title="Zero")
    (bar,) = elements(svg, "rect", "bar")
    assert float(bar["width"]) == 0
    assert {"0", "1"} <= set(texts(svg))


def test_bar_chart_refuses_mismatched_or_nan_values() -> None:
    with pytest.raises(InputError, match="one value per label"):
        bar_chart(["a", "b"], [1.0], title="t")
    with pytest.raises(InputError, match="finite"):
        bar_chart(["a"], [float("nan")], title="t")


def test_column_chart_heights_follow_the_values() -> None:
    counts = [3_120, 2_410, 1_980, 0, 610]
    svg = column_chart([f"bin {i}" for i in range(5)], counts, title="CLV")
    bars = elements(svg, "rect", "bar")
    assert len(bars) == 5
    heights = [float(b["height"]) for b in bars]
    assert heights[3] == 0
    assert heights == [*sorted(heights, reverse=True)[:3], 0, heights[4]]
    assert heights[0] / heights[4] == pytest.approx(3_120 / 610, rel=0.01)


def test_line_chart_has_a_point_per_period_and_a_band_around_the_forecast() -> None:
    svg = interval_line_chart(
        ["2024-10", "2024-11", "2024-12"],
        [100.0, 120.0, 110.0],
        ["2025-01", "2025-02"],
        [115.0, 118.0],
        [90.0, 85.0],
        [140.0, 150.0],
        title="Revenue",
    )
    assert len(elements(svg, "circle", "pt")) == 5
    assert len(elements(svg, "circle", "forecast")) == 2
    (band,) = elements(svg, "polygon", "band")
    points = [tuple(map(float, p.split(","))) for p in band["points"].split()]
    assert len(points) == 4
    # upper edge first, lower edge back: upper is drawn above (smaller y) the lower bound
    assert points[0][1] < points[3][1]
    assert points[1][1] < points[2][1]
    assert {"2024-10", "2025-02"} <= set(texts(svg))


def test_line_chart_refuses_bounds_of_the_wrong_length() -> None:
    with pytest.raises(InputError, match="one value per label"):
        interval_line_chart([], [], ["2025-01"], [1.0], [], [2.0], title="t")


def test_heatmap_leaves_null_cells_blank() -> None:
    values: list[list[float | None]] = [[1.0, 0.3, 0.2], [1.0, 0.25, None], [1.0, None, None]]
    svg = heatmap(["2024-01", "2024-02", "2024-03"], ["0", "1", "2"], values, title="Retention")
    cells = elements(svg, "rect", "cell")
    assert len(cells) == 6
    assert [float(c["data-value"]) for c in cells] == [1.0, 0.3, 0.2, 1.0, 0.25, 1.0]
    # the null cells' positions (row 2 column 3, row 3 columns 2 and 3) have no rect
    xs = sorted({float(c["x"]) for c in cells})
    ys = sorted({float(c["y"]) for c in cells})
    drawn = {(float(c["x"]), float(c["y"])) for c in cells}
    assert (xs[2], ys[1]) not in drawn
    assert (xs[1], ys[2]) not in drawn
    values_shown = re.findall(r'<text [^>]*class="value">([^<]*)</text>', svg)
    assert values_shown == ["100%", "30%", "20%", "100%", "25%", "100%"]
    # darker means larger: the 100% cells share the darkest colour
    assert len({c["fill"] for c in cells if c["data-value"] == "1.0"}) == 1
    assert cells[0]["fill"] != cells[1]["fill"]


def test_heatmap_clamps_values_beyond_its_scale_and_says_so() -> None:
    svg = heatmap(["2024-01"], ["0", "1", "2"], [[1.0, 0.3, 0.15]], title="R", scale=(0.0, 0.3))
    cells = elements(svg, "rect", "cell")
    assert cells[0]["fill"] == cells[1]["fill"] == "#08306b"  # the darkest blue
    assert cells[2]["fill"] != cells[1]["fill"]
    assert "\u2265 30%" in texts(svg)
    assert "0%" in texts(svg)


def test_heatmap_refuses_a_ragged_matrix() -> None:
    with pytest.raises(InputError, match="2 rows of 2 values"):
        heatmap(["a", "b"], ["x", "y"], [[1.0, 2.0], [1.0]], title="t")


def test_lift_chart_draws_negative_lift_left_of_zero() -> None:
    svg = lift_chart(
        ["Mens E-Mail", "SMS"], [0.0766, -0.012], [0.07, -0.025], [0.0832, 0.001], title="Lift"
    )
    (zero,) = elements(svg, "line", "zero")
    zero_x = float(zero["x1"])
    positive, negative = elements(svg, "rect", "bar")
    assert float(positive["x"]) == pytest.approx(zero_x)
    assert float(positive["width"]) > 0
    assert float(negative["x"]) + float(negative["width"]) == pytest.approx(zero_x)
    assert float(negative["x"]) < zero_x
    assert positive["fill"] != negative["fill"]
    ci_positive, ci_negative = elements(svg, "line", "ci")
    assert float(ci_positive["x1"]) > zero_x
    # the negative lift's interval crosses zero
    assert float(ci_negative["x1"]) < zero_x < float(ci_negative["x2"])
    assert {"+7.7 pp", "-1.2 pp"} <= set(texts(svg))


def test_lift_chart_without_an_interval_draws_no_error_bar() -> None:
    svg = lift_chart(["a", "b"], [0.1, 0.2], [None, 0.1], [None, 0.3], title="Lift")
    assert len(elements(svg, "rect", "bar")) == 2
    assert len(elements(svg, "line", "ci")) == 1


# --- report --------------------------------------------------------------------------------------


def test_full_report_lead_sentences_come_from_the_data() -> None:
    page = render_report(make_report())
    assert lead(page, "summary") == "9,542 customers from 12,410 source records in 4 sources."
    assert lead(page, "quality") == (
        "Data quality rose from 71% to 93% after cleaning. The weakest field is phone, 90% valid."
    )
    assert lead(page, "duplicates") == (
        "12,410 source records resolve to 9,542 customers: 1,830 merged clusters absorbed"
        " 2,868 duplicate records (23%). 37 uncertain pairs await review."
    )
    assert lead(page, "customers") == (
        "Shopify brings the most customers (4,120, 43%). DE has the most customers (3,010, 32%)."
    )
    assert lead(page, "rfm") == "412 customers (17%) are Hibernating, the largest of 8 segments."
    assert lead(page, "clv") == (
        "9,542 customers are expected to bring 1,234,568 over the next 52 weeks."
        " The top 10 account for 2.8% of it."
    )
    assert lead(page, "churn") == (
        "2,142 of 9,542 customers (22%) have a churn risk of 50% or more."
        " The model's cross-validated AUC is 0.84."
    )
    assert lead(page, "cohorts") == (
        "On average 23% of a cohort orders again one month after its first order (12 cohorts)."
    )
    assert lead(page, "campaigns") == (
        "Hillstrom: Mens E-Mail raised the visit rate by 7.7 pp against No E-Mail"
        " (95% CI +7 pp to +8.3 pp)."
    )
    assert lead(page, "forecast") == (
        "2025-01 is forecast at 245,000 (95% interval 215,000 to 275,000);"
        " the next 6 months total 1,515,000."
    )


def test_full_report_draws_every_chart_with_its_data() -> None:
    page = render_report(make_report())
    assert page.count("<svg") == 14
    assert len(elements(section(page, "rfm"), "rect", "cell")) == 25
    assert len(elements(section(page, "cohorts"), "rect", "cell")) == sum(range(1, 13))
    assert len(elements(section(page, "clv"), "rect", "bar")) == 6
    assert len(elements(section(page, "churn"), "rect", "bar")) == 10 + 3
    assert len(elements(section(page, "forecast"), "circle", "pt")) == 24 + 6
    assert len(elements(section(page, "campaigns"), "rect", "bar")) == 3
    # one data table per chart, with the exact numbers
    assert section(page, "clv").count("<table") == 3
    assert "Customer 0" in section(page, "clv")
    assert "4,800" in section(page, "clv")
    assert not any("missing" in css.split() for css in re.findall(r'class="([^"]*)"', page))


def test_report_with_every_section_missing_says_what_to_run() -> None:
    page = render_report(ReportData(generated_at=datetime(2025, 1, 31, tzinfo=UTC)))
    assert "<svg" not in page
    for section_id in SECTION_IDS:
        html = section(page, section_id)
        assert 'class="card' in html
        assert "missing" in html
        assert "Not computed yet. Run <code>rolodex " in html
    assert "Run <code>rolodex analyze clv</code> after importing orders." in page
    assert "Run <code>rolodex resolve</code> after importing contacts." in page


def test_sections_with_empty_data_show_placeholders() -> None:
    page = render_report(
        make_report(
            customers=CustomersSection(),
            rfm=RfmSection(segments=[], grid=[[0] * 5 for _ in range(5)]),
            campaigns=CampaignSection(arms=[], lifts=[]),
            forecast=ForecastSection(history=[("2025-01", 1_000.0)], forecast=[]),
            churn=ChurnSection(bins=[], auc=None),
        )
    )
    assert lead(page, "customers") == "No customers with a source or country yet."
    assert lead(page, "rfm") == "No customers have RFM scores yet."
    assert lead(page, "campaigns") == "No campaign had a control group to measure lift against."
    assert lead(page, "forecast") == "Not enough history to forecast; 2025-01 brought 1,000."
    assert lead(page, "churn") == "No customers have a churn risk yet."
    assert section(page, "customers").count(">No data</text>") == 2
    assert len(elements(section(page, "forecast"), "circle", "pt")) == 1


def test_many_countries_are_folded_into_other() -> None:
    countries = [(f"C{i:02d}", 100 - i) for i in range(20)]
    page = render_report(make_report(customers=CustomersSection(by_country=countries)))
    html = section(page, "customers")
    assert len(elements(html, "rect", "bar")) == 12
    other = sum(100 - i for i in range(11, 20))
    assert f'Other (9 countries)</td><td class="num">{other}</td>' in html


def test_report_escapes_every_text_from_the_data() -> None:
    top = [TopCustomer(1, EVIL, 100.0, 0.5)]
    clv = ClvSection(bins=[], top_customers=top, customers=1, total_clv=100.0, horizon_weeks=52)
    page = render_report(
        make_report(
            title=EVIL,
            clv=clv,
            customers=CustomersSection(by_source=[(EVIL, 3)], by_country=[('"><img src=x>', 1)]),
        )
    )
    assert "<script" not in page
    assert "<img" not in page
    assert page.count(EVIL_ESCAPED) >= 4  # <title>, <h1>, the table, the chart
    assert not any(tag == "script" for tag, _ in parse(page).elements)


def test_rfm_grid_must_be_five_by_five() -> None:
    with pytest.raises(InputError, match="5 rows"):
        render_report(make_report(rfm=RfmSection(segments=[("Lost", 1)], grid=[[1, 2, 3]])))


@pytest.mark.parametrize("full", [True, False], ids=["full", "empty"])
def test_report_loads_nothing_from_outside(full: bool) -> None:
    data = make_report() if full else ReportData(generated_at=datetime(2025, 1, 1, tzinfo=UTC))
    page = render_report(data)
    parsed = parse(page)
    for tag, attrs in parsed.elements:
        for name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
            value = attrs.get(name)
            if value is not None:
                assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, name, value)
                assert value.startswith("#"), (tag, name, value)
        assert not (tag == "script" and "src" in attrs)
        assert not (tag == "link" and "stylesheet" in attrs.get("rel", ""))
    assert parsed.styles, "the stylesheet is inline"
    css = "".join(parsed.styles)
    assert "@import" not in css
    assert "url(" not in css
    assert "http://" not in page
    assert "https://" not in page
    assert not any(tag in ("script", "link", "img", "iframe") for tag, _ in parsed.elements)


@pytest.mark.parametrize("full", [True, False], ids=["full", "empty"])
def test_report_is_valid_html_with_a_working_table_of_contents(full: bool) -> None:
    data = make_report() if full else ReportData(generated_at=datetime(2025, 1, 1, tzinfo=UTC))
    page = render_report(data)
    parsed = parse(page)
    assert parsed.doctype is not None
    assert parsed.doctype.lower() == "doctype html"
    assert parsed.problems == []
    assert parsed.stack == []
    ids = [attrs["id"] for _, attrs in parsed.elements if "id" in attrs]
    assert len(ids) == len(set(ids))
    assert set(SECTION_IDS) <= set(ids)
    links = [a["href"] for tag, a in parsed.elements if tag == "a" and "href" in a]
    assert [link.removeprefix("#") for link in links] == list(SECTION_IDS)
    for _, attrs in parsed.elements:
        if "aria-labelledby" in attrs:
            assert attrs["aria-labelledby"] in ids
    metas = [attrs for tag, attrs in parsed.elements if tag == "meta"]
    assert {"charset": "utf-8"} in metas
    assert any(m.get("name") == "viewport" for m in metas)
    assert '<time datetime="2025-01-' in page
    assert "<h1>" in page
    assert "<style>" in page
    assert "@media print" in page


def test_write_report_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    data = make_report()
    assert write_report(data, target) == target
    assert target.read_text(encoding="utf-8") == render_report(data)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_report_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_report(make_report(), tmp_path / "nope" / "report.html")
    with pytest.raises(InputError, match="is a directory"):
        write_report(make_report(), tmp_path)


# --- real browser --------------------------------------------------------------------------------


def _browser_missing() -> str | None:
    """Return None when headless Chromium can be driven, else why not."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


def _png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (filters left in place)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset, width, height, idat = 8, 0, 0, b""
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        chunk = png[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    return width, height, zlib.decompress(idat)


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import Route, sync_playwright

    report = write_report(make_report(), tmp_path / "report.html")
    expected_svgs = report.read_text(encoding="utf-8").count("<svg")
    blocked: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def route(route: Route) -> None:
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            page.route("**/*", route)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.as_uri(), wait_until="load")
            boxes = page.eval_on_selector_all(
                "svg",
                "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return [r.width, r.height]; })",
            )
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            # narrow phone screen: the cards reflow and nothing pushes the page sideways
            page.set_viewport_size({"width": 390, "height": 800})
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
        finally:
            browser.close()

    assert blocked == []
    assert errors == []
    assert len(boxes) == expected_svgs == 14
    assert all(w > 100 and h > 50 for w, h in boxes), boxes
    assert overflow <= 0
    png = shot.read_bytes()
    width, height, pixels = _png_pixels(png)
    assert width == 1280
    assert height > 3_000  # ten sections of charts and tables, laid out long
    assert len(png) > 100_000
    assert len(set(pixels)) > 100  # many colours and shades: text, bars, heatmap, not a blank
