package svahub

import (
	"fmt"
	"regexp"
	"strconv"
)

// MaxMoneyCents is the largest amount accepted: 99,999,999.99.
const MaxMoneyCents = 9_999_999_999

var moneyRE = regexp.MustCompile(`^[0-9]{1,8}\.[0-9]{2}$`)

// Money is an amount in cents. On the wire it is a string with exactly two
// decimals ("29.90").
type Money int64

// ParseMoney parses a non-negative amount with exactly two decimals.
func ParseMoney(s string) (Money, error) {
	if !moneyRE.MatchString(s) {
		return 0, fmt.Errorf("valor deve ser um número não negativo com duas casas decimais, como \"29.90\"")
	}
	n, err := strconv.ParseInt(s[:len(s)-3]+s[len(s)-2:], 10, 64)
	if err != nil || n > MaxMoneyCents {
		return 0, fmt.Errorf("valor fora do intervalo permitido")
	}
	return Money(n), nil
}

// String formats the amount as "123.45".
func (m Money) String() string {
	sign := ""
	v := int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// MarshalText implements encoding.TextMarshaler, so Money is a JSON string.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// ProRata returns m × num ÷ den rounded half-up to cents.
func (m Money) ProRata(num, den int) Money {
	if den <= 0 {
		return 0
	}
	return Money((int64(m)*int64(num)*2 + int64(den)) / (2 * int64(den)))
}
