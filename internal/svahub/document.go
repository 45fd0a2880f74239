package svahub

import "strings"

// NormalizeDocument strips the usual CPF/CNPJ punctuation (dots, dashes,
// slashes, spaces) and reports whether the result is a valid CPF (11 digits)
// or CNPJ (14 digits) by its check digits.
func NormalizeDocument(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '.' || r == '-' || r == '/' || r == ' ':
		default:
			return "", false
		}
	}
	d := b.String()
	switch len(d) {
	case 11:
		return d, validCPF(d)
	case 14:
		return d, validCNPJ(d)
	}
	return "", false
}

func allSame(d string) bool {
	return strings.Count(d, d[:1]) == len(d)
}

func validCPF(d string) bool {
	if allSame(d) {
		return false
	}
	for _, n := range []int{9, 10} {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(d[i]-'0') * (n + 1 - i)
		}
		check := sum * 10 % 11 % 10
		if check != int(d[n]-'0') {
			return false
		}
	}
	return true
}

func validCNPJ(d string) bool {
	if allSame(d) {
		return false
	}
	weights := []int{6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}
	for _, n := range []int{12, 13} {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(d[i]-'0') * weights[len(weights)-n+i]
		}
		check := sum % 11
		if check < 2 {
			check = 0
		} else {
			check = 11 - check
		}
		if check != int(d[n]-'0') {
			return false
		}
	}
	return true
}
