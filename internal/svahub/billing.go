package svahub

import (
	"context"
	"fmt"
	"time"
)

// Competence is a billing month.
type Competence struct {
	Year  int
	Month time.Month
}

// ParseCompetence parses "YYYY-MM".
func ParseCompetence(s string) (Competence, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Competence{}, fmt.Errorf("competência inválida %q: use AAAA-MM", s)
	}
	return Competence{Year: t.Year(), Month: t.Month()}, nil
}

// String formats the competence as YYYY-MM.
func (c Competence) String() string { return fmt.Sprintf("%04d-%02d", c.Year, int(c.Month)) }

// First and Last return the first and last day of the month.
func (c Competence) First() Date {
	return Date(time.Date(c.Year, c.Month, 1, 0, 0, 0, 0, time.UTC).Format(DateLayout))
}

// Last returns the last day of the month.
func (c Competence) Last() Date {
	return Date(time.Date(c.Year, c.Month+1, 0, 0, 0, 0, 0, time.UTC).Format(DateLayout))
}

// BilledDays counts the days of competence c on which a subscription that
// started on start, and was cancelled on cancelled (nil: not cancelled)
// and usable until expires (inclusive), existed and was not cancelled. The
// cancellation day itself is not billed.
func BilledDays(c Competence, start Date, cancelled *Date, expires Date) int {
	from, to := c.First(), c.Last()
	if start > from {
		from = start
	}
	if cancelled != nil {
		dayBefore := Date(cancelled.Time().AddDate(0, 0, -1).Format(DateLayout))
		if dayBefore < to {
			to = dayBefore
		}
	}
	if expires != "" && expires < to {
		to = expires
	}
	if to < from {
		return 0
	}
	return int(to.Time().Sub(from.Time()).Hours()/24) + 1
}

// BillingItem is one line of the billing feed.
type BillingItem struct {
	// Serviço do cliente (id_cliente_servico do HubSoft).
	ServiceID int64 `json:"id_cliente_servico" example:"5001"`
	// Cliente do HubSoft.
	CustomerID int64 `json:"id_cliente" example:"1001"`
	// Assinatura cobrada.
	SubscriptionID int64 `json:"id_assinatura" example:"42"`
	// Pacote assinado.
	PackageID int64 `json:"id_pacote" example:"1"`
	// Descrição do pacote.
	Description string `json:"descricao" example:"Qualifica Pro mensal"`
	// Valor mensal da assinatura, duas casas decimais (0.00 para pacotes de combo).
	Value Money `json:"valor" swaggertype:"string" example:"29.90"`
	// Dias da competência em que a assinatura esteve ativa.
	DaysBilled int `json:"dias_cobrados" example:"17"`
	// Dias do mês da competência.
	DaysInMonth int `json:"dias_no_mes" example:"30"`
	// valor × dias_cobrados ÷ dias_no_mes, duas casas decimais.
	ProratedValue Money `json:"valor_proporcional" swaggertype:"string" example:"16.94"`
	// Primeiro dia cobrado (AAAA-MM-DD).
	StartDate Date `json:"data_inicio" swaggertype:"string" example:"2026-11-14" format:"date"`
	// Dia do cancelamento (AAAA-MM-DD); null se não cancelada na competência.
	CancelledOn *Date `json:"data_cancelamento" swaggertype:"string" example:"2026-11-30" extensions:"x-nullable" format:"date"`
}

// BillingService serves the billing feed.
type BillingService interface {
	FindBilling(ctx context.Context, c Competence, p Page) ([]*BillingItem, int, error)
}
