package httpapi

// Fuzz targets. `go test` runs every seed (f.Add and testdata/fuzz/<Name>/)
// as a normal test; `go test -run XXX -fuzz FuzzDecodeService -fuzztime 20s
// ./internal/httpapi/` explores further.
//
// Decoding: decodeBytes then Normalize and svahub.Validate must never panic,
// and any error must be a *svahub.Error whose code maps to a 4xx. Domain:
// ParseMoney, NormalizeDocument and ParseDate round-trip what they accept.

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/svahub/svahub/internal/store/storetest"
	"github.com/svahub/svahub/internal/svahub"
)

// fzRequire4xx fails unless err is a *svahub.Error with one of codes, whose
// HTTP status is a 4xx.
func fzRequire4xx(t *testing.T, err error, codes ...string) {
	t.Helper()
	var de *svahub.Error
	if !errors.As(err, &de) {
		t.Fatalf("error is %T (%v), not *svahub.Error", err, err)
	}
	k, ok := problemKinds[de.Code]
	if !ok || k.status < 400 || k.status > 499 {
		t.Fatalf("error code %q maps to %d, not a 4xx: %v", de.Code, k.status, err)
	}
	for _, c := range codes {
		if de.Code == c {
			if de.Message == "" {
				t.Fatalf("error without message: %#v", de)
			}
			for _, fe := range de.Fields {
				if fe.Field == "" || fe.Message == "" {
					t.Fatalf("field error without campo or mensagem: %#v", de)
				}
			}
			return
		}
	}
	t.Fatalf("error code %q, want one of %v: %v", de.Code, codes, err)
}

// fzStrings visits every string reachable from v (fields, pointers, slices)
// with the validate tag of the field that holds it.
func fzStrings(v reflect.Value, tag string, visit func(s, tag string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fzStrings(v.Elem(), tag, visit)
		}
	case reflect.String:
		visit(v.String(), tag)
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			fzStrings(v.Index(i), tag, visit)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fzStrings(v.Field(i), v.Type().Field(i).Tag.Get("validate"), visit)
		}
	}
}

// fzDecode runs the handler path on body: decode, normalise, validate. It
// reports whether the input was accepted.
func fzDecode[T any](t *testing.T, body []byte, in *T, normalize func(*T)) bool {
	t.Helper()
	if err := decodeBytes(body, in); err != nil {
		fzRequire4xx(t, err, svahub.EBADREQUEST)
		return false
	}
	// Whatever decodes holds valid UTF-8 only (invalid bytes are refused,
	// escaped lone surrogates become U+FFFD).
	fzStrings(reflect.ValueOf(in), "", func(s, _ string) {
		if !utf8.ValidString(s) {
			t.Fatalf("decoded invalid UTF-8 %q from %q", s, body)
		}
	})
	if normalize != nil {
		normalize(in)
		// Normalize is idempotent.
		again := *in
		normalize(&again)
		if !reflect.DeepEqual(*in, again) {
			t.Fatalf("Normalize is not idempotent: %#v then %#v", *in, again)
		}
	}
	if err := svahub.Validate(in); err != nil {
		fzRequire4xx(t, err, svahub.EINVALID)
		return false
	}
	// Accepted text fields carry no NUL (PostgreSQL refuses it in TEXT).
	fzStrings(reflect.ValueOf(in), "", func(s, tag string) {
		if strings.Contains(tag, "texto") && strings.ContainsRune(s, 0) {
			t.Fatalf("accepted a NUL in a text field: %q", s)
		}
	})
	return true
}

var fzDecodeSeeds = []string{
	``, ` `, `{`, `}`, `[]`, `null`, `{}`, `"x"`, `0`, `true`, `{"a":1}`, `{"descricao":"x"}{}`, "\xef\xbb\xbf{}", "{\"descricao\":\"\xff\"}",
	`{"descricao":"\u0000"}`, `{"descricao":"\ud800"}`, `{"descricao":` + strings.Repeat("[", 100), `{"DESCRICAO":"x"}`, `{"descricao":1e400}`,
}

// FuzzDecodeIntegration: the body of POST/PUT /integracoes.
func FuzzDecodeIntegration(f *testing.F) {
	for _, s := range fzDecodeSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"descricao":"Qualifica","plataforma":"qualifica","parametros":{"client_id":"svahub-test","client_secret":"segredo-teste"}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","client_secret":"s","usuario":"email","url_base":"http://127.0.0.1:9090/","limite_requisicoes_por_segundo":10},"suspender_inadimplencia":true,"ativo":false}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","limite_requisicoes_por_segundo":1e400}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","limite_requisicoes_por_segundo":-0}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","url_base":"javascript:alert(1)"}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","usuario":"xx"}}`,
		`{"descricao":"   ","plataforma":"qualifica","parametros":{"client_id":"c"}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":[]}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","client_secret":null}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c","client_secret":""}}`,
		`{"descricao":"Q","plataforma":"qualifica","parametros":{"client_id":"c"},"token":{}}`,
		`{"descricao":"'; DROP TABLE services; --","plataforma":"<script>alert(1)</script>","parametros":{"client_id":"1 OR 1=1"}}`,
		`{"descricao":"W","plataforma":"webhook","parametros":{"url":"https://x.example","segredo":"whsec_AAAA"}}`,
		`{"descricao":"W","plataforma":"webhook","parametros":{"url":1}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in svahub.IntegrationInput
		if !fzDecode(t, body, &in, (*svahub.IntegrationInput).Normalize) {
			return
		}
		p, err := svahub.PrepareCreate(in, storetest.Adapters())
		if err != nil {
			fzRequire4xx(t, err, svahub.ErrorCode(err))
			return
		}
		if in.Description == "" || in.Platform == "" {
			t.Fatalf("accepted without a required field: %#v", in)
		}
		if !svahub.UsernamePolicy(p.Input.Params.Username).Valid() {
			t.Fatalf("accepted usuario %q", p.Input.Params.Username)
		}
		ad := storetest.Adapters()[p.Input.Platform]
		for _, spec := range ad.Params {
			v, sent := p.Plain[spec.Name]
			if spec.Secret {
				v, sent = p.Secrets[spec.Name]
			}
			if spec.Required && v == "" {
				t.Fatalf("accepted without parametros.%s: %#v", spec.Name, p)
			}
			if spec.URL && sent && v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
				t.Fatalf("accepted %s %q", spec.Name, v)
			}
		}
		if r := in.Params.RateLimitRPS; r != nil && (*r <= 0 || *r > 1000) {
			t.Fatalf("accepted limite %v", *r)
		}
	})
}

// FuzzDecodePackage: the body of POST/PUT /pacotes.
func FuzzDecodePackage(f *testing.F) {
	for _, s := range fzDecodeSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"descricao":"Pro","codigo":"QPRO","valor":"29.90","id_integracao":1,"produtos":[1,2],"ativo":true}`,
		`{"descricao":"Benefício","valor":"0.00","id_integracao":1,"produtos":[1]}`,
		`{"descricao":"P","valor":"-1.00","id_integracao":1,"produtos":[1]}`,
		`{"descricao":"P","valor":"29.900","id_integracao":1,"produtos":[1]}`,
		`{"descricao":"P","valor":29.90,"id_integracao":1,"produtos":[1]}`,
		`{"descricao":"P","valor":" 1.00 ","id_integracao":1,"produtos":[1]}`,
		`{"descricao":"P","valor":"99999999.99","id_integracao":1,"produtos":[1]}`,
		`{"descricao":"P","valor":"1.00","id_integracao":9223372036854775808,"produtos":[1]}`,
		`{"descricao":"P","valor":"1.00","id_integracao":1,"produtos":[1,1]}`,
		`{"descricao":"P","valor":"1.00","id_integracao":1,"produtos":[1,2,3,4,5,6,7,8,9,10,11]}`,
		`{"descricao":"P","valor":"1.00","id_integracao":1,"produtos":[-1]}`,
		`{"descricao":"P","valor":"1.00","id_integracao":1,"produtos":{"0":1}}`,
		`{"descricao":"P","valor":"1.00","id_integracao":1,"produtos":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in svahub.PackageInput
		if !fzDecode(t, body, &in, (*svahub.PackageInput).Normalize) {
			return
		}
		m, err := svahub.ParseMoney(in.Value)
		if err != nil || m < 0 || m > svahub.MaxMoneyCents {
			t.Fatalf("accepted valor %q: %v %v", in.Value, m, err)
		}
		if in.IntegrationID <= 0 || len(in.Products) < 1 || len(in.Products) > 10 {
			t.Fatalf("accepted %#v", in)
		}
		seen := map[int64]bool{}
		for _, p := range in.Products {
			if p <= 0 || seen[p] {
				t.Fatalf("accepted produtos %v", in.Products)
			}
			seen[p] = true
		}
	})
}

var fzDigits = regexp.MustCompile(`^[0-9]+$`)

// FuzzDecodeService: the body of PUT /servicos/{id}.
func FuzzDecodeService(f *testing.F) {
	for _, s := range fzDecodeSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"id_servico":10,"login":"maria","senha":"s3nh4","status_prefixo":"servico_habilitado","cliente":{"id_cliente":1001,"codigo_cliente":"C1001","nome_razaosocial":"Maria da Silva","cpf_cnpj":"529.982.247-25","email_principal":"maria@example.com","telefone_primario":"+55 11 99999-0000"}}`,
		`{"id_servico":null,"status_prefixo":"suspenso_debito","cliente":{"id_cliente":1,"nome_razaosocial":"ACME","cpf_cnpj":"11.222.333/0001-81"}}`,
		`{"status_prefixo":"servico_habilitado","cliente":{"id_cliente":1,"nome_razaosocial":"N","cpf_cnpj":"529.982.247-24"}}`,
		`{"status_prefixo":"servico_habilitado","cliente":{"id_cliente":1,"nome_razaosocial":"N","cpf_cnpj":"11111111111"}}`,
		`{"status_prefixo":"servico_habilitado","cliente":{"id_cliente":1,"nome_razaosocial":"N","cpf_cnpj":"５２９９８２２４７２５"}}`,
		`{"status_prefixo":"servico_habilitado","cliente":{"id_cliente":1,"nome_razaosocial":"N","cpf_cnpj":" 529 982 247 25 "}}`,
		`{"status_prefixo":"xx","cliente":{"id_cliente":1,"nome_razaosocial":"N"}}`,
		`{"status_prefixo":" cancelado ","cliente":{"id_cliente":1,"nome_razaosocial":"N"}}`,
		`{"status_prefixo":"servico_habilitado","cliente":{"id_cliente":0,"nome_razaosocial":"N"}}`,
		`{"status_prefixo":"servico_habilitado","cliente":{"id_cliente":1,"nome_razaosocial":"N","email_principal":"\"a\u0000b\"@example.com"}}`,
		`{"status_prefixo":"servico_habilitado","senha":"a\u0000b","cliente":{"id_cliente":1,"nome_razaosocial":"N"}}`,
		`{"status_prefixo":"servico_habilitado","cliente":[]}`,
		`{"status_prefixo":"servico_habilitado","cliente":{"id_cliente":"1","nome_razaosocial":"N"}}`,
		`{"status_prefixo":"servico_habilitado","id_servico":0,"cliente":{"id_cliente":1,"nome_razaosocial":"N"}}`,
		`{"status_prefixo":"servico_habilitado","pacotes":[],"cliente":{"id_cliente":1,"nome_razaosocial":"N"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in svahub.ServiceInput
		if !fzDecode(t, body, &in, (*svahub.ServiceInput).Normalize) {
			return
		}
		if !svahub.ServiceStatus(in.Status).Valid() {
			t.Fatalf("accepted status_prefixo %q", in.Status)
		}
		if in.Customer.ID <= 0 || in.Customer.Name == "" || (in.ComboID != nil && *in.ComboID <= 0) {
			t.Fatalf("accepted %#v", in)
		}
		if d := in.Customer.Document; d != "" {
			if !fzDigits.MatchString(d) || (len(d) != 11 && len(d) != 14) {
				t.Fatalf("accepted cpf_cnpj stored as %q", d)
			}
			if n, ok := svahub.NormalizeDocument(d); !ok || n != d {
				t.Fatalf("stored cpf_cnpj %q does not validate again", d)
			}
		}
	})
}

// FuzzDecodeInputs: every other input type through the same path; kind
// picks the type.
func FuzzDecodeInputs(f *testing.F) {
	for _, s := range append(append([]string{}, fzDecodeSeeds...),
		`{"descricao":"Pro","codigo":"pro"}`, `{"descricao":"Pro","codigo":"pró"}`,
		`{"descricao":"Plano","pacotes":[1,2]}`, `{"descricao":"Plano","pacotes":[1,1]}`,
		`{"status_prefixo":"suspenso_debito"}`, `{"itens":[{"id_cliente_servico":1,"status_prefixo":"cancelado"}]}`,
		`{"itens":[]}`, `{"id_pacote":1,"data_expiracao":"2027-11-27"}`, `{"id_pacote":1,"data_expiracao":"2026-02-30"}`,
		`{"data_expiracao":"2028-01-31"}`, `{"data_expiracao":""}`,
	) {
		for k := range 6 {
			f.Add(uint8(k), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		switch kind % 6 {
		case 0:
			var in svahub.ProductInput
			if fzDecode(t, body, &in, (*svahub.ProductInput).Normalize) && !regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`).MatchString(in.Code) {
				t.Fatalf("accepted codigo %q", in.Code)
			}
		case 1:
			var in svahub.ComboInput
			fzDecode(t, body, &in, (*svahub.ComboInput).Normalize)
		case 2:
			var in svahub.StatusInput
			if fzDecode(t, body, &in, nil) && !svahub.ServiceStatus(in.Status).Valid() {
				t.Fatalf("accepted status %q", in.Status)
			}
		case 3:
			var in svahub.StatusBatchInput
			if fzDecode(t, body, &in, nil) && (len(in.Items) == 0 || len(in.Items) > 1000) {
				t.Fatalf("accepted %d items", len(in.Items))
			}
		case 4:
			var in svahub.AttachInput
			if fzDecode(t, body, &in, nil) && in.ExpiresOn != "" {
				if _, err := svahub.ParseDate(in.ExpiresOn); err != nil {
					t.Fatalf("accepted data_expiracao %q", in.ExpiresOn)
				}
			}
		case 5:
			var in svahub.ExpiryInput
			if fzDecode(t, body, &in, nil) {
				if _, err := svahub.ParseDate(in.ExpiresOn); err != nil {
					t.Fatalf("accepted data_expiracao %q", in.ExpiresOn)
				}
			}
		}
	})
}

var fzMoneyRE = regexp.MustCompile(`^[0-9]{1,8}\.[0-9]{2}$`)

// FuzzParseMoney: accepted amounts are "digits.dd", within range, and
// round-trip; pro rata stays between 0 and the amount.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"29.90", "0.00", "0.01", "99999999.99", "00000001.00", "-1.00", "29.9", "29.900", "1.005", "29,90", "",
		" 1.00", "1e3", "NaN", "+1.00", "１.００", "100000000.00", "9223372036854775807.00", ".50", "29."} {
		f.Add(s, uint8(15), uint8(30))
	}
	f.Add("10.00", uint8(0), uint8(0))
	f.Add("0.05", uint8(1), uint8(2))
	f.Add("0.01", uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, s string, num, den uint8) {
		m, err := svahub.ParseMoney(s)
		if err != nil {
			if fzMoneyRE.MatchString(s) { // at most 8 digits: always in range
				t.Fatalf("refused well-formed %q: %v", s, err)
			}
			return
		}
		if !fzMoneyRE.MatchString(s) {
			t.Fatalf("accepted %q", s)
		}
		if m < 0 || m > svahub.MaxMoneyCents {
			t.Fatalf("%q parsed out of range: %d", s, m)
		}
		back, err := svahub.ParseMoney(m.String())
		if err != nil || back != m {
			t.Fatalf("round trip %q → %d → %q → %d, %v", s, m, m.String(), back, err)
		}
		if strings.TrimLeft(s, "0") != strings.TrimLeft(m.String(), "0") {
			t.Fatalf("%q formats as %q", s, m.String())
		}
		txt, _ := m.MarshalText()
		if string(txt) != m.String() {
			t.Fatalf("MarshalText %q != String %q", txt, m.String())
		}
		if den > 0 {
			n := int(num) % (int(den) + 1) // 0 ≤ n ≤ den
			p := m.ProRata(n, int(den))
			if p < 0 || p > m || (n == int(den) && p != m) || (n == 0 && p != 0) {
				t.Fatalf("%s × %d/%d = %s", m, n, den, p)
			}
		}
	})
}

// FuzzNormalizeDocument: accepted documents are 11 or 14 digits, normalise
// to themselves, survive punctuation, and break when a check digit changes.
func FuzzNormalizeDocument(f *testing.F) {
	for _, s := range []string{"529.982.247-25", "52998224725", "529.982.247-24", "11.222.333/0001-81", "11222333000181", "11.222.333/0001-80",
		"11111111111", "00000000000000", "", " ", "abc", "5299822472", "529982247250", "５２９９８２２４７２５", "529 982 247 25", "52998224725\x00",
		"529_982_247_25", "..--//  ", "1", "123456789012345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := svahub.NormalizeDocument(s)
		if !ok {
			return
		}
		if !fzDigits.MatchString(d) || (len(d) != 11 && len(d) != 14) {
			t.Fatalf("%q accepted as %q", s, d)
		}
		if again, ok := svahub.NormalizeDocument(d); !ok || again != d {
			t.Fatalf("%q → %q → %q, %v", s, d, again, ok)
		}
		var punct string
		if len(d) == 11 {
			punct = d[:3] + "." + d[3:6] + "." + d[6:9] + "-" + d[9:]
		} else {
			punct = d[:2] + "." + d[2:5] + "." + d[5:8] + "/" + d[8:12] + "-" + d[12:]
		}
		if p, ok := svahub.NormalizeDocument(punct); !ok || p != d {
			t.Fatalf("punctuated %q → %q, %v", punct, p, ok)
		}
		for _, i := range []int{len(d) - 1, len(d) - 2} {
			b := []byte(d)
			b[i] = '0' + (b[i]-'0'+1)%10
			if _, ok := svahub.NormalizeDocument(string(b)); ok {
				t.Fatalf("%q accepted with check digit %d changed: %q", d, i, b)
			}
		}
	})
}

// FuzzParseDate: accepted dates are exactly YYYY-MM-DD, real calendar days,
// and round-trip; the default expiry one year later is a valid date too.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-11-27", "2028-02-29", "2027-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "27/11/2026", "", "2026-1-5",
		"20261127", "2026-11-27T00:00:00Z", " 2026-11-27", "2026-11-27 ", "0000-01-01", "9999-12-31", "+2026-11-27", "２０２６-11-27"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := svahub.ParseDate(s)
		if err != nil {
			return
		}
		if string(d) != s {
			t.Fatalf("%q accepted as %q: only YYYY-MM-DD is valid", s, d)
		}
		if again, err := svahub.ParseDate(string(d)); err != nil || again != d {
			t.Fatalf("round trip %q → %q → %q, %v", s, d, again, err)
		}
		tm := d.Time()
		if tm.Format(svahub.DateLayout) != string(d) {
			t.Fatalf("%q Time() is %v", d, tm)
		}
		if d.Before(d) {
			t.Fatalf("%q before itself", d)
		}
		next := svahub.DefaultExpiry(tm, time.UTC)
		nt, err := svahub.ParseDate(string(next))
		if err != nil && tm.Year() < 9999 {
			t.Fatalf("default expiry of %q is %q: %v", d, next, err)
		}
		if err == nil {
			want := tm.Day()
			if tm.Month() == time.February && want == 29 {
				want = 28
			}
			if nt.Time().Year() != tm.Year()+1 || nt.Time().Month() != tm.Month() || nt.Time().Day() != want {
				t.Fatalf("default expiry of %q is %q", d, next)
			}
		}
	})
}
