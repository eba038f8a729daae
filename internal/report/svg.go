package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/drain-cli/drain/internal/untrusted"
)

// Picture geometry, in SVG user units (pixels at 100 %).
const (
	width     = 960
	left      = 64  // room for the value axis
	right     = 24  //
	titleH    = 34  // the title line
	subjectH  = 16  // the line under it: server, reason, action
	labelRowH = 15  // one row of mark labels
	panelH    = 112 // one source
	panelGap  = 36  // room for the source's name above its panel
	axisH     = 34  // time axis and its unit
	legendH   = 28
)

var markColor = map[string]string{
	"out": "#b45309", "verify": "#7c3aed", "drained": "#15803d", "action": "#1f2937",
	"action-end": "#1f2937", "action-failed": "#dc2626", "in": "#0369a1", "timeout": "#dc2626",
}

// SVG draws the run as a standalone SVG document.
func SVG(w io.Writer, r *Run) error {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	writeSVG(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

type canvas struct {
	*strings.Builder
	r          *Run
	head       float64 // the title, and the subject line when there is one
	x0, x1     float64 // plot area, horizontally
	tMax       float64
	rows       int // rows of mark labels
	plotTop    float64
	plotBottom float64
}

func (c *canvas) x(t float64) float64 { return c.x0 + (c.x1-c.x0)*t/c.tMax }

func (c *canvas) f(format string, a ...any) { fmt.Fprintf(c, format, a...) }

// esc is outside text in SVG or HTML, also safe to print in a CI log.
func esc(s string) string { return html.EscapeString(untrusted.Text(s)) }

func writeSVG(b *strings.Builder, r *Run) {
	c := &canvas{Builder: b, r: r, x0: left, x1: width - right, head: titleH}
	subject := strings.Join(r.Subject(), " · ")
	if subject != "" {
		c.head += subjectH
	}
	c.tMax = math.Max(r.End*1.02, 1)
	labels := c.placeLabels()
	c.plotTop = c.head + float64(c.rows)*labelRowH + 8
	panels := max(len(r.Sources), 1)
	c.plotBottom = c.plotTop + float64(panels)*(panelH+panelGap)
	height := c.plotBottom + axisH + legendH

	c.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	c.f("<title>drain: %s</title>\n", esc(r.Title()))
	c.f(`<defs><pattern id="unknown" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#f3f4f6"/><line x1="0" y1="0" x2="0" y2="8" stroke="#9ca3af" stroke-width="3"/></pattern></defs>` + "\n")
	c.f(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	titleColor := "#b91c1c"
	if r.OK() {
		titleColor = "#166534"
	}
	c.f(`<text x="%d" y="22" font-size="16" font-weight="bold" fill="%s">%s</text>`+"\n", left, titleColor, esc(r.Title()))
	if subject != "" {
		c.f(`<text class="subject" x="%d" y="%d" fill="#374151">%s</text>`+"\n", left, titleH+4, esc(clip(subject, 140)))
	}

	// Windows behind everything: lb-grace, then the quiet stretches.
	top, bottom := c.plotTop, c.plotBottom
	if g := r.Grace; g != nil {
		c.f(`<rect class="grace" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#dbeafe"/>`+"\n", c.x(g.From), top, c.x(g.To)-c.x(g.From), bottom-top)
	}
	for _, q := range r.Quiet {
		c.f(`<rect class="settle" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#bbf7d0" fill-opacity="0.7"/>`+"\n", c.x(q.From), top, math.Max(c.x(q.To)-c.x(q.From), 1), bottom-top)
	}
	if g := r.Grace; g != nil && c.x(g.To)-c.x(g.From) > 60 {
		c.f(`<text x="%.1f" y="%.1f" text-anchor="end" fill="#1e40af" font-size="11">lb-grace</text>`+"\n", c.x(g.To)-4, top+12)
	}
	if n := len(r.Quiet); n > 0 && r.Drained != nil {
		if q := r.Quiet[n-1]; c.x(q.To)-c.x(q.From) > 44 {
			c.f(`<text x="%.1f" y="%.1f" text-anchor="end" fill="#166534" font-size="11">settle</text>`+"\n", c.x(q.To)-4, top+12)
		}
	}

	for i := range panels {
		py := top + float64(i)*(panelH+panelGap) + panelGap
		if i < len(r.Sources) {
			c.panel(r.Sources[i], py)
		} else {
			c.f(`<text x="%d" y="%.1f" fill="#6b7280">no source was polled</text>`+"\n", left, py+panelH/2)
		}
	}

	// Marks over the panels, labels above them.
	for i, m := range r.Marks {
		col := markColor[m.Kind]
		x := c.x(m.T)
		ly := c.head + float64(labels[i]+1)*labelRowH
		c.f(`<line class="mark mark-%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="4 3"/>`+"\n", m.Kind, x, ly+3, x, bottom, col)
		if lw := labelWidth(m.Label); x+2+lw > width-2 { // keep it inside the picture
			c.f(`<text x="%.1f" y="%.1f" fill="%s" font-weight="bold" text-anchor="end">%s</text>`+"\n", x-3, ly, col, esc(m.Label))
		} else {
			c.f(`<text x="%.1f" y="%.1f" fill="%s" font-weight="bold">%s</text>`+"\n", x+2, ly, col, esc(m.Label))
		}
	}

	c.axis()
	c.legend(bottom + axisH)
	c.f("</svg>\n")
}

func labelWidth(s string) float64 { return float64(len([]rune(s))) * 7 }

// placeLabels puts each mark's label in the first row where it does not
// overlap the label before it (drained, action and action end often fall
// within a few pixels of each other).
func (c *canvas) placeLabels() []int {
	var ends []float64 // per row, the right end of its last label
	rows := make([]int, len(c.r.Marks))
	for i, m := range c.r.Marks {
		from := c.x(m.T)
		to := from + labelWidth(m.Label) + 8
		if to > width-2 { // drawn to the left of its line
			from, to = from-labelWidth(m.Label)-8, from
		}
		row := 0
		for row < len(ends) && ends[row] > from {
			row++
		}
		if row == len(ends) {
			ends = append(ends, 0)
		}
		ends[row] = to
		rows[i] = row
	}
	c.rows = max(len(ends), 1)
	return rows
}

func (c *canvas) panel(s *Series, py float64) {
	st := s.Stats()
	top := 0.0
	if st.Max != nil {
		top = *st.Max
	}
	top = niceCeil(math.Max(math.Max(top, s.Threshold)*1.15, 1))
	y := func(v float64) float64 { return py + panelH - panelH*v/top }

	name := fmt.Sprintf("%s  (threshold %s)", short(s.Name, 90), fmtNum(s.Threshold))
	c.f(`<text x="%d" y="%.1f" font-weight="bold" fill="#111827">%s</text>`+"\n", left, py-8, esc(name))
	c.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="none" stroke="#d1d5db"/>`+"\n", c.x0, py, c.x1-c.x0, panelH)
	for _, v := range []float64{0, top / 2, top} {
		c.f(`<text x="%d" y="%.1f" text-anchor="end" fill="#6b7280">%s</text>`+"\n", left-6, y(v)+4, fmtNum(v))
	}
	for _, u := range s.Unknown {
		c.f(`<rect class="unknown" x="%.1f" y="%.1f" width="%.1f" height="%d" fill="url(#unknown)"/>`+"\n", c.x(u.From), py, math.Max(c.x(u.To)-c.x(u.From), 2), panelH)
		if c.x(u.To)-c.x(u.From) > 60 {
			c.f(`<text x="%.1f" y="%.1f" fill="#374151" font-style="italic">unknown</text>`+"\n", c.x(u.From)+4, py+14)
		}
	}
	c.f(`<line class="threshold" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="6 4"/>`+"\n", c.x0, y(s.Threshold), c.x1, y(s.Threshold))

	// The value as steps: it holds from one poll to the next. An unknown
	// poll breaks the line.
	var path strings.Builder
	pen := false
	for i, p := range s.Points {
		if p.V == nil {
			pen = false
			continue
		}
		to := p.T
		if i+1 < len(s.Points) {
			to = s.Points[i+1].T
		}
		if !pen {
			fmt.Fprintf(&path, "M%.1f %.1f", c.x(p.T), y(*p.V))
			pen = true
		} else {
			fmt.Fprintf(&path, "V%.1f", y(*p.V))
		}
		fmt.Fprintf(&path, "H%.1f", c.x(to))
	}
	if path.Len() > 0 {
		c.f(`<path class="value" d="%s" fill="none" stroke="#1d4ed8" stroke-width="2.5" stroke-linejoin="round"/>`+"\n", path.String())
	}
	for _, p := range s.Points {
		if p.V != nil {
			col := "#1d4ed8"
			if *p.V > s.Threshold {
				col = "#b91c1c"
			}
			c.f(`<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s"/>`+"\n", c.x(p.T), y(*p.V), col)
		}
	}
}

func (c *canvas) axis() {
	y := c.plotBottom + 4
	step := niceStep(c.tMax / 10)
	for t := 0.0; t <= c.tMax+1e-9; t += step {
		x := c.x(t)
		c.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9ca3af"/>`+"\n", x, y, x, y+5)
		c.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#374151">%s</text>`+"\n", x, y+18, fmtNum(math.Round(t*1000)/1000))
	}
	c.f(`<text x="%.1f" y="%.1f" text-anchor="end" fill="#6b7280">seconds since out</text>`+"\n", c.x1, y+32)
}

func (c *canvas) legend(y float64) {
	type item struct{ swatch, text string }
	items := []item{
		{`<line x1="0" y1="6" x2="18" y2="6" stroke="#1d4ed8" stroke-width="2.5"/>`, "value"},
		{`<line x1="0" y1="6" x2="18" y2="6" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="6 4"/>`, "threshold"},
		{`<rect width="18" height="12" fill="url(#unknown)"/>`, "unknown"},
	}
	if c.r.Grace != nil {
		g := "lb-grace"
		if c.r.GraceBy == "flag" {
			g += " (--lb-grace)"
		}
		items = append(items, item{`<rect width="18" height="12" fill="#dbeafe"/>`, g})
	} else {
		items = append(items, item{"", "lb-grace not in the events"})
	}
	items = append(items, item{`<rect width="18" height="12" fill="#bbf7d0"/>`, "all quiet (settle)"})
	x := float64(left)
	for _, it := range items {
		if it.swatch != "" {
			c.f(`<g transform="translate(%.0f %.0f)">%s</g>`, x, y, it.swatch)
			x += 24
		}
		c.f(`<text x="%.0f" y="%.0f" fill="#374151">%s</text>`+"\n", x, y+11, esc(it.text))
		x += float64(len(it.text))*6.5 + 22
	}
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// niceCeil rounds v up to a value that makes tidy axis labels.
func niceCeil(v float64) float64 {
	s := niceStep(v / 4)
	return math.Ceil(v/s) * s
}
