package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/svahub/svahub/internal/metrics"
	"github.com/svahub/svahub/internal/store"
	"github.com/svahub/svahub/internal/store/storetest"
)

// deployDir holds the monitoring files shipped with svahub.
var deployDir = filepath.Join("..", "..", "deploy")

// registeredNames lists every metric name svahub's registry can export
// (svahub, Go runtime and process collectors, database gauges), from the
// descriptors: a metric with no sample yet counts too.
func registeredNames(t *testing.T) map[string]bool {
	t.Helper()
	db := storetest.Open(t, store.DialectSQLite)
	m := metrics.New(metrics.Options{Stats: db, Platforms: []string{"qualifica"}})
	ch := make(chan *prometheus.Desc)
	go func() { m.Registry().Describe(ch); close(ch) }()
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		if mm := re.FindStringSubmatch(d.String()); mm != nil {
			names[mm[1]] = true
		}
	}
	require.Contains(t, names, "svahub_jobs")
	require.Contains(t, names, "svahub_build_info")
	return names
}

// metricRe finds the metric names of the collectors svahub registers.
var metricRe = regexp.MustCompile(`\b(?:svahub|go|process)_[a-zA-Z0-9_]+\b`)

// missing returns the names used in exprs that the registry lacks
// (histogram series _bucket, _sum and _count count as their histogram).
func missing(names map[string]bool, exprs []string) []string {
	var out []string
	for _, e := range exprs {
		for _, n := range metricRe.FindAllString(e, -1) {
			base := n
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(n, suf); ok && names[b] {
					base = b
				}
			}
			if !names[base] {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// alertExprs returns every rule expression of the Prometheus rules file.
func alertExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "prometheus", "svahub-alerts.yml"))
	require.NoError(t, err)
	var f struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	require.NoError(t, yaml.UnmarshalStrict(b, &f))
	var exprs []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Expr, r.Alert)
			require.NotEmpty(t, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			exprs = append(exprs, r.Expr)
		}
	}
	return exprs
}

// dashboardExprs returns every query of the Grafana dashboard (panel
// targets, nested rows and template variables).
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "svahub-dashboard.json"))
	require.NoError(t, err)
	var doc any
	require.NoError(t, json.Unmarshal(b, &doc))
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && (k == "expr" || k == "definition") {
					exprs = append(exprs, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	return exprs
}

// TestDeployMonitoringMetricsExist checks that every metric the Grafana
// dashboard and the Prometheus alerting rules in deploy/ query is one
// svahub exports, and that the rules cover what operators page on.
func TestDeployMonitoringMetricsExist(t *testing.T) {
	t.Parallel()
	names := registeredNames(t)
	require.Equal(t, []string{"svahub_nope_total"}, missing(names, []string{`rate(svahub_nope_total[5m]) + svahub_jobs`}),
		"the check itself finds an unknown name")

	rules := alertExprs(t)
	require.Empty(t, missing(names, rules), "alerting rules use metrics svahub does not export")
	all := strings.Join(rules, "\n")
	for _, want := range []string{
		`svahub_jobs{state="discarded"}`, "svahub_accesses_in_error", `outcome="erro_temporario"`,
		`svahub_token_renewals_total{result="error"}`, "svahub_drift_repaired_total",
	} {
		require.Contains(t, all, want, "an alert on %s", want)
	}

	dash := dashboardExprs(t)
	require.GreaterOrEqual(t, len(dash), 20)
	require.Empty(t, missing(names, dash), "the dashboard uses metrics svahub does not export")
	used := map[string]bool{}
	for _, e := range dash {
		for _, n := range metricRe.FindAllString(e, -1) {
			used[strings.TrimSuffix(n, "_bucket")] = true
		}
	}
	for n := range names {
		if strings.HasPrefix(n, "svahub_") {
			require.True(t, used[n], "the dashboard shows %s", n)
		}
	}
}
