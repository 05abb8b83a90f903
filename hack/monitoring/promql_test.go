// Package monitoring checks ARC's alerts and Grafana dashboard
// (manifests/monitoring) against ARC's metrics: every PromQL expression must
// parse with Prometheus' own parser, and every metric it names must be one
// that ARC's /metrics serves. A renamed metric breaks this test, not the
// dashboard.
//
// What ARC serves is testdata/arc-metrics.txt: the "# TYPE" lines of
// /metrics, written by a test of cmd/arc-controller from the real handler
// (go test ./cmd/arc-controller -run TestMetricNames -update), which fails
// when the file is stale. ARC_METRICS_SCRAPE=FILE checks against a scrape
// of a running controller instead (the e2e suite saves one; a scrape has
// arc_sync_errors_total only once a sync has failed).
//
// Its own module: Prometheus' module requires newer Kubernetes libraries
// than ARC builds with.
package monitoring

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// synthesized are the series Prometheus itself adds to every target.
var synthesized = map[string]bool{"up": true}

// histogramSuffixes are the series a histogram family exposes.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// served reads the metric names of a /metrics exposition (or of the
// "# TYPE" lines of testdata/arc-metrics.txt): each family, and for
// histograms and summaries their _bucket, _sum and _count series.
func served(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading ARC's metric names: %v", err)
	}
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 || fields[0] != "#" || fields[1] != "TYPE" {
			continue
		}
		names[fields[2]] = true
		if fields[3] == "histogram" || fields[3] == "summary" {
			for _, s := range histogramSuffixes {
				names[fields[2]+s] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("%s names no metric", path)
	}
	return names
}

func metricsFile(t *testing.T) string {
	if p := os.Getenv("ARC_METRICS_SCRAPE"); p != "" {
		t.Logf("checking against the scrape %s", p)
		return p
	}
	return filepath.Join("testdata", "arc-metrics.txt")
}

// expression is one PromQL expression and where it comes from.
type expression struct {
	where, expr string
}

func ruleExpressions(t *testing.T) []expression {
	t.Helper()
	raw, err := os.ReadFile("../../manifests/monitoring/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Spec struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Alert  string `json:"alert"`
					Record string `json:"record"`
					Expr   string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(raw, &rule); err != nil {
		// Strict would refuse unknown fields; the rules carry more than we read.
		if err := yaml.Unmarshal(raw, &rule); err != nil {
			t.Fatal(err)
		}
	}
	var out []expression
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			out = append(out, expression{where: "alert " + r.Alert + r.Record, expr: r.Expr})
		}
	}
	return out
}

// grafanaVariable matches Grafana's variables in a query: $__rate_interval,
// ${namespace}, $namespace.
var grafanaVariable = regexp.MustCompile(`\$\{?(\w+)\}?`)

// substitute replaces Grafana's variables with values of their kind, as
// Grafana does before it sends the query.
func substitute(expr string) string {
	return grafanaVariable.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		if strings.Contains(name, "interval") || strings.HasSuffix(name, "range") {
			return "5m"
		}
		return ".*"
	})
}

// labelValues matches the variable queries of Grafana's Prometheus data
// source: label_values(metric, label) or label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

func dashboardExpressions(t *testing.T) []expression {
	t.Helper()
	raw, err := os.ReadFile("../../manifests/monitoring/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	var out []expression
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, target := range p.Targets {
				out = append(out, expression{where: fmt.Sprintf("panel %q, query %s", p.Title, target.RefID), expr: substitute(target.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		q, ok := v.Query.(string)
		if v.Type != "query" || !ok {
			continue
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(...): this test cannot check it", v.Name, q)
			continue
		}
		out = append(out, expression{where: "variable " + v.Name, expr: m[1]})
	}
	return out
}

type panel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// metricNames returns the metric names an expression selects.
func metricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			name := vs.Name
			if name == "" {
				for _, m := range vs.LabelMatchers {
					if m.Name == "__name__" {
						name = m.Value
					}
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names
}

// problems parses each expression and lists what is wrong: a parse error,
// an expression that selects no metric, a metric ARC does not serve. It
// also returns the metrics used.
func problems(exprs []expression, known map[string]bool) (found, used []string) {
	p := parser.NewParser(parser.Options{})
	seen := map[string]bool{}
	for _, e := range exprs {
		parsed, err := p.ParseExpr(e.expr)
		if err != nil {
			found = append(found, fmt.Sprintf("%s: %q does not parse: %v", e.where, e.expr, err))
			continue
		}
		names := metricNames(parsed)
		if len(names) == 0 {
			found = append(found, fmt.Sprintf("%s: %q selects no metric", e.where, e.expr))
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				used = append(used, n)
			}
			if !known[n] && !synthesized[n] {
				found = append(found, fmt.Sprintf("%s: metric %q is not one ARC serves (expression %q)", e.where, n, e.expr))
			}
		}
	}
	sort.Strings(used)
	return found, used
}

func check(t *testing.T, exprs []expression, known map[string]bool) {
	t.Helper()
	if len(exprs) == 0 {
		t.Fatal("no expressions found")
	}
	found, used := problems(exprs, known)
	for _, p := range found {
		t.Error(p)
	}
	t.Logf("%d expressions, metrics used: %s", len(exprs), strings.Join(used, ", "))
}

func TestAlertRules(t *testing.T) {
	check(t, ruleExpressions(t), served(t, metricsFile(t)))
}

func TestDashboard(t *testing.T) {
	check(t, dashboardExpressions(t), served(t, metricsFile(t)))
}

// TestCheckFails: an expression naming a metric ARC does not serve, or one
// that does not parse, is reported.
func TestCheckFails(t *testing.T) {
	known := served(t, metricsFile(t))
	for _, e := range []expression{
		{where: "renamed metric", expr: `sum(rate(arc_artifacts_finished_total[5m]))`},
		{where: "broken syntax", expr: `sum by (type (arc_orders)`},
		{where: "no metric", expr: `vector(1)`},
	} {
		if found, _ := problems([]expression{e}, known); len(found) != 1 {
			t.Errorf("%s: %q: want one problem, got %q", e.where, e.expr, found)
		}
	}
}
