package ui

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/fix-status/fix-status/app/stuck"
)

// The chart's geometry, in SVG user units.
const (
	chartW, chartH  = 720, 220
	padL, padR      = 44, 12
	padT, padB      = 16, 40
	chartPlotHeight = chartH - padT - padB
)

// Colours with a contrast of at least 4.5:1 on white.
const (
	stuckColour  = "#b3261e"
	repairColour = "#1a6b33"
	axisColour   = "#57606a"
)

// chart draws the last 24 hours as an SVG: repairs (writes) per 10-minute
// bucket as bars, stuck PRs as a line, each on its own scale, with hourly
// figures in a table beside it for screen readers and for reading exact
// numbers.
func chart(points []stuck.Point) template.HTML {
	if len(points) == 0 {
		return ""
	}
	maxStuck, maxRepairs := 1, 1
	for _, p := range points {
		maxStuck, maxRepairs = max(maxStuck, p.Stuck), max(maxRepairs, p.Repairs)
	}
	n := len(points)
	step := float64(chartW-padL-padR) / float64(n)
	x := func(i int) float64 { return float64(padL) + float64(i)*step }
	y := func(v, top int) float64 { return float64(padT) + float64(chartPlotHeight)*(1-float64(v)/float64(top)) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	b.WriteString(`<title id="chart-title">Stuck pull requests and repairs, last 24 hours</title>`)
	fmt.Fprintf(&b, `<desc id="chart-desc">Bars: writes fix-status made per 10 minutes (up to %d). Line: pull requests stuck (up to %d). The table below has the hourly figures.</desc>`, maxRepairs, maxStuck)
	// Axes and gridlines.
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`, padL, chartH-padB, chartW-padR, chartH-padB, axisColour)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="%s" text-anchor="end">%d</text>`, padL-6, padT+4, stuckColour, maxStuck)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="%s" text-anchor="end">0</text>`, padL-6, chartH-padB+4, axisColour)
	for i := 0; i < n; i++ {
		if p := points[i]; p.Repairs > 0 {
			top := y(p.Repairs, maxRepairs)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x(i)+0.5, top, max(step-1, 1), float64(chartH-padB)-top, repairColour)
		}
		if i%36 == 0 || i == n-1 {
			label := points[i].Start.UTC().Format("15:04")
			if i == n-1 {
				label = "now"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="%s" text-anchor="middle">%s</text>`, x(i)+step/2, chartH-padB+16, axisColour, label)
		}
	}
	var line []string
	for i, p := range points {
		if p.Known {
			line = append(line, fmt.Sprintf("%.1f,%.1f", x(i)+step/2, y(p.Stuck, maxStuck)))
		}
	}
	if len(line) > 0 {
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(line, " "), stuckColour)
		// The latest figure, also when it is the only one.
		last := strings.Split(line[len(line)-1], ",")
		fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, last[0], last[1], stuckColour)
	}
	// Legend.
	ly := chartH - 8
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="10" fill="%s"/><text x="%d" y="%d" font-size="12" fill="#1f2328">repairs (writes) per 10 minutes, up to %d</text>`,
		padL, ly-9, repairColour, padL+18, ly, maxRepairs)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d" font-size="12" fill="#1f2328">stuck pull requests, up to %d</text>`,
		padL+330, ly-4, padL+348, ly-4, stuckColour, padL+354, ly, maxStuck)
	b.WriteString(`</svg>`)

	b.WriteString(`<details><summary>The figures, hour by hour</summary><table><caption>Stuck pull requests (most in the hour) and repairs (writes), per hour, UTC</caption>`)
	b.WriteString(`<thead><tr><th scope="col">Hour</th><th scope="col">Stuck</th><th scope="col">Repairs</th></tr></thead><tbody>`)
	for i := 0; i < n; i += 6 {
		most, repairs, known := 0, 0, false
		for _, p := range points[i:min(i+6, n)] {
			most, repairs, known = max(most, p.Stuck), repairs+p.Repairs, known || p.Known
		}
		stuckCell := "–"
		if known {
			stuckCell = fmt.Sprint(most)
		}
		fmt.Fprintf(&b, `<tr><th scope="row">%s</th><td>%s</td><td>%d</td></tr>`, points[i].Start.UTC().Format("15:04"), stuckCell, repairs)
	}
	b.WriteString(`</tbody></table></details>`)
	return template.HTML(b.String())
}
