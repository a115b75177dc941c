// casetrail console: the portfolio's charts, drawn by Apache ECharts (vendored, SVG renderer)
// from the figures the page states in its JSON data block; each chart's numbers are also in
// the table beside it.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const labels = JSON.parse(document.getElementById("chart-labels").textContent);
  const font = { fontFamily: "'Noto Sans SC', sans-serif", color: "#1f2937" };
  const palette = ["#0b5394", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f"];
  const base = { animation: false, color: palette, textStyle: font,
                 grid: { left: 64, right: 56, top: 48, bottom: 40 },
                 tooltip: { trigger: "axis" }, legend: { top: 0, textStyle: font } };

  function draw(id, option) {
    const node = document.getElementById(id);
    if (!node || !window.echarts) return;
    const chart = window.echarts.init(node, null, { renderer: "svg" });
    chart.setOption({ ...base, ...option });
    node.dataset.rendered = "true";
    window.addEventListener("resize", () => chart.resize());
  }

  function amountsAndRate(categories, placed, collected, rate) {
    return {
      xAxis: { type: "category", data: categories },
      yAxis: [{ type: "value", name: "" }, { type: "value", name: "%", max: 100, min: 0 }],
      series: [
        { name: labels.placed, type: "bar", data: placed },
        { name: labels.collected, type: "bar", data: collected },
        { name: labels.rate, type: "line", yAxisIndex: 1, data: rate, symbolSize: 8 },
      ],
    };
  }

  if (data.bucket) {
    draw("chart-bucket", amountsAndRate(data.bucket.buckets, data.bucket.placed,
                                        data.bucket.collected, data.bucket.recovery_rate));
  }
  if (data.agency) {
    draw("chart-agency", amountsAndRate(data.agency.agencies, data.agency.placed,
                                        data.agency.collected, data.agency.recovery_rate));
  }
  if (data.liquidation) {
    draw("chart-liquidation", {
      tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : `${v} %`) },
      xAxis: { type: "category", name: labels.months, nameLocation: "middle", nameGap: 28,
               data: data.liquidation.months },
      yAxis: { type: "value", name: labels.liquidation, min: 0 },
      series: data.liquidation.series.map((s) => ({ name: s.name, type: "line", data: s.data,
                                                     symbolSize: 7 })),
    });
  }
  if (data.roll && data.roll.rows && data.roll.rows.length) {
    const series = [];
    data.roll.series.forEach((agency) => {
      series.push({ name: `${agency.name} ${labels.roll_forward}`, type: "bar",
                    data: agency.roll_forward });
      series.push({ name: `${agency.name} ${labels.cure}`, type: "bar", data: agency.cure });
    });
    draw("chart-roll", {
      tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : `${v} %`) },
      xAxis: { type: "category", name: labels.roll_from, nameLocation: "middle", nameGap: 28,
               data: data.roll.buckets },
      yAxis: { type: "value", name: "%", min: 0, max: 100 },
      series,
    });
  }
})();
