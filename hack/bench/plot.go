package main

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotSeries are the cumulative object counts over time of both sides.
type plotSeries struct {
	arcAWs, arcWFs, baseAWs, baseWFs, fastAWs, fastWFs []Sample
}

func xys(s []Sample) plotter.XYs {
	out := make(plotter.XYs, len(s))
	for i, p := range s {
		out[i].X, out[i].Y = p.T, p.V
	}
	return out
}

// plotObjects draws objects created over time, ARC against the baseline.
func plotObjects(path, title string, s plotSeries) error {
	p := plot.New()
	p.Title.Text = "Objects created over time: " + title
	p.X.Label.Text = "seconds (ARC: since the last Order was applied; baseline: since its first create)"
	p.Y.Label.Text = "objects existing"
	p.Legend.Top = true
	p.Legend.Left = true
	lines := []struct {
		name  string
		data  []Sample
		color color.Color
		dash  bool
	}{
		{"ARC ArtifactWorkflows", s.arcAWs, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, true},
		{"ARC Workflows", s.arcWFs, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, false},
		{"baseline ArtifactWorkflows", s.baseAWs, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, true},
		{"baseline Workflows", s.baseWFs, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, false},
		{"unthrottled baseline ArtifactWorkflows", s.fastAWs, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, true},
		{"unthrottled baseline Workflows", s.fastWFs, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, false},
	}
	for _, l := range lines {
		if len(l.data) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys(l.data))
		if err != nil {
			return err
		}
		line.Color = l.color
		line.Width = vg.Points(1.5)
		if l.dash {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(line)
		p.Legend.Add(l.name, line)
	}
	p.Add(plotter.NewGrid())
	return p.Save(10*vg.Inch, 6*vg.Inch, path)
}

// plotRSS draws the controller's resident memory over time, and the
// anonymous part of it: the gap between the two is its binary's pages.
func plotRSS(path, title string, rss, anon []Sample) error {
	p := plot.New()
	p.Title.Text = "arc-controller resident memory: " + title
	p.X.Label.Text = "seconds since the last Order was applied"
	p.Y.Label.Text = "MiB"
	for _, l := range []struct {
		name    string
		samples []Sample
		color   color.RGBA
	}{
		{"VmRSS", rss, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}},
		{"RssAnon (without the binary's pages)", anon, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}},
	} {
		if len(l.samples) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys(l.samples))
		if err != nil {
			return err
		}
		line.Color, points.Color = l.color, l.color
		points.Shape = draw.CircleGlyph{}
		points.Radius = vg.Points(1)
		p.Add(line, points)
		p.Legend.Add(l.name, line)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p.Save(10*vg.Inch, 5*vg.Inch, path)
}
