package config

import (
	"fmt"
	"reflect"
	"strings"
	"text/tabwriter"
)

// Variable describes one environment variable read by Load.
type Variable struct {
	// Name is the variable, e.g. SVAHUB_ADDR.
	Name string
	// Default is the value used when the variable is unset or empty ("" if none).
	Default string
	// Usage is a one-line description.
	Usage string
}

// Variables lists every environment variable Load reads, in declaration
// order, from the Config struct tags (the single source of truth).
func Variables() []Variable {
	t := reflect.TypeFor[Config]()
	vars := make([]Variable, 0, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" || name == "-" {
			continue
		}
		vars = append(vars, Variable{
			Name:    name,
			Default: f.Tag.Get("envDefault"),
			Usage:   f.Tag.Get("usage"),
		})
	}
	return vars
}

// Usage returns a plain-text table of every variable, its default and its
// meaning, for `svahub --help` and the documentation.
func Usage() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "VARIABLE\tDEFAULT\tMEANING")
	for _, v := range Variables() {
		def := v.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", v.Name, def, v.Usage)
	}
	_ = w.Flush() // writes to a strings.Builder cannot fail
	return b.String()
}
