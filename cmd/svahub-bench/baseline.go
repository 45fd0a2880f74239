package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // America/Sao_Paulo without a system zone database

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The baseline answers GET /api/v1/servicos/{id} with the three queries
// svahub's store.FindServiceByID runs (service; its subscriptions; their
// accesses joined to platform plans and accounts) and the same JSON, with
// nothing else: no router framework, no API-key lookup, no middleware. It
// runs in a process of its own (this program re-executed with the hidden
// serve-baseline command) so that it and svahub compete alike for CPU with
// the load generator and whatever else runs on the machine.

const (
	baselineServiceSQL = `SELECT id, plan_id, login, password_sealed, status, customer_id, customer_code, customer_name,
		customer_document, customer_email, customer_phone, created_at, updated_at
		FROM services WHERE services.id = $1 ORDER BY services.id LIMIT $2`
	baselineSubscriptionsSQL = `SELECT id, service_id, package_id, integration_id, description, origin, value_cents, expires_on,
		status, last_error, expired, created_at, updated_at, cancelled_at
		FROM subscriptions WHERE service_id = $1 ORDER BY id`
	baselineAccessesSQL = `SELECT a.id, a.subscription_id, a.product_code, a.desired_state, a.last_error, acc.username,
		p.platform_state, p.last_error AS plan_error, p.synced_at
		FROM accesses a LEFT JOIN platform_plans p ON p.id = a.plan_id LEFT JOIN platform_accounts acc ON acc.id = p.account_id
		WHERE a.subscription_id IN (%s) ORDER BY a.id`
)

type bCustomer struct {
	ID       int64  `json:"id_cliente"`
	Code     string `json:"codigo_cliente"`
	Name     string `json:"nome_razaosocial"`
	Document string `json:"cpf_cnpj"`
	Email    string `json:"email_principal"`
	Phone    string `json:"telefone_primario"`
}

type bAccess struct {
	ProductCode    string     `json:"codigo_produto"`
	PlatformUser   string     `json:"usuario_plataforma"`
	DesiredState   string     `json:"estado_desejado"`
	PlatformState  string     `json:"estado_plataforma"`
	LastError      string     `json:"ultimo_erro"`
	SynchronizedAt *time.Time `json:"sincronizado_em"`
}

type bSubscription struct {
	ID          int64      `json:"id_assinatura"`
	ServiceID   int64      `json:"id_cliente_servico"`
	PackageID   int64      `json:"id_pacote"`
	Description string     `json:"descricao"`
	Origin      string     `json:"origem"`
	Value       string     `json:"valor"`
	ExpiresOn   string     `json:"data_expiracao"`
	Status      string     `json:"status"`
	LastError   string     `json:"ultimo_erro"`
	Accesses    []bAccess  `json:"acessos"`
	CreatedAt   time.Time  `json:"data_cadastro"`
	CancelledAt *time.Time `json:"data_cancelamento"`
}

type bService struct {
	ID            int64           `json:"id_cliente_servico"`
	PlanID        *int64          `json:"id_servico"`
	Login         string          `json:"login"`
	PasswordSet   bool            `json:"senha_definida"`
	Status        string          `json:"status_prefixo"`
	Customer      bCustomer       `json:"cliente"`
	Subscriptions []bSubscription `json:"pacotes"`
	CreatedAt     time.Time       `json:"data_cadastro"`
	UpdatedAt     time.Time       `json:"data_atualizacao"`
}

type baseline struct {
	pool *pgxpool.Pool
	loc  *time.Location
}

// serveBaseline is the hidden serve-baseline command: it serves the
// baseline on -addr until SIGTERM or until its standard input closes (the
// parent died).
func serveBaseline(args []string) error {
	fs := flag.NewFlagSet("serve-baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	dsn := fs.String("pg", "", "database URL")
	poolSize := fs.Int("pool", 20, "pgxpool size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // the parent holds our stdin: EOF means it is gone
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	cfg, err := pgxpool.ParseConfig(*dsn)
	if err != nil {
		return err
	}
	cfg.MaxConns, cfg.MinConns = int32(*poolSize), int32(*poolSize)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	loc, err := time.LoadLocation("America/Sao_Paulo") // svahub's default SVAHUB_TIMEZONE
	if err != nil {
		return err
	}
	b := &baseline{pool: pool, loc: loc}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/servicos/{id}", b.getService)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// baselineProc is the baseline server subprocess.
type baselineProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
	done  chan struct{}
}

// startBaseline starts the baseline server process and waits until it
// answers.
func startBaseline(ctx context.Context, work, dsn string, poolSize int) (*baselineProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(work, "baseline.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "serve-baseline", "-addr", addr, "-pg", dsn, "-pool", strconv.Itoa(poolSize))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	b := &baselineProc{cmd: cmd, stdin: stdin, url: "http://" + addr, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(b.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-b.done:
			return nil, fmt.Errorf("baseline server exited at start-up: %s", tail(logf.Name(), 10))
		case <-ctx.Done():
			b.close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if res, err := http.Get(b.url + "/healthz"); err == nil {
			res.Body.Close()
			return b, nil
		}
	}
	b.close()
	return nil, errors.New("baseline server did not answer within 30s")
}

func (b *baselineProc) pid() int { return b.cmd.Process.Pid }

func (b *baselineProc) close() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.stdin.Close()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "detail": detail})
}

func (b *baseline) getService(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		problem(w, http.StatusBadRequest, "id inválido")
		return
	}
	out, err := b.find(r.Context(), id)
	if errors.Is(err, pgx.ErrNoRows) {
		problem(w, http.StatusNotFound, "serviço não encontrado")
		return
	}
	if err != nil {
		problem(w, http.StatusInternalServerError, "erro interno")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out)
}

func (b *baseline) find(ctx context.Context, id int64) (*bService, error) {
	var s bService
	var sealed string
	err := b.pool.QueryRow(ctx, baselineServiceSQL, id, 1).Scan(&s.ID, &s.PlanID, &s.Login, &sealed, &s.Status,
		&s.Customer.ID, &s.Customer.Code, &s.Customer.Name, &s.Customer.Document, &s.Customer.Email, &s.Customer.Phone,
		&s.CreatedAt, &s.UpdatedAt)
	if err != nil {
		return nil, err
	}
	s.PasswordSet = sealed != ""
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.In(b.loc), s.UpdatedAt.In(b.loc)
	s.Subscriptions = []bSubscription{}
	rows, err := b.pool.Query(ctx, baselineSubscriptionsSQL, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var sub bSubscription
		var integ, cents int64
		var expired bool
		var updated time.Time
		if err := rows.Scan(&sub.ID, &sub.ServiceID, &sub.PackageID, &integ, &sub.Description, &sub.Origin, &cents, &sub.ExpiresOn,
			&sub.Status, &sub.LastError, &expired, &sub.CreatedAt, &updated, &sub.CancelledAt); err != nil {
			rows.Close()
			return nil, err
		}
		sub.Value = fmt.Sprintf("%d.%02d", cents/100, cents%100)
		sub.CreatedAt = sub.CreatedAt.In(b.loc)
		if sub.CancelledAt != nil {
			t := sub.CancelledAt.In(b.loc)
			sub.CancelledAt = &t
		}
		sub.Accesses = []bAccess{}
		s.Subscriptions = append(s.Subscriptions, sub)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(s.Subscriptions) == 0 {
		return &s, nil
	}
	idx := make(map[int64]int, len(s.Subscriptions))
	args := make([]any, len(s.Subscriptions))
	ph := make([]string, len(s.Subscriptions))
	for i, sub := range s.Subscriptions {
		idx[sub.ID] = i
		args[i] = sub.ID
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	rows, err = b.pool.Query(ctx, fmt.Sprintf(baselineAccessesSQL, strings.Join(ph, ",")), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var aid, subID int64
		var a bAccess
		var user, pstate, perr *string
		if err := rows.Scan(&aid, &subID, &a.ProductCode, &a.DesiredState, &a.LastError, &user, &pstate, &perr, &a.SynchronizedAt); err != nil {
			return nil, err
		}
		if user != nil {
			a.PlatformUser = *user
		}
		if pstate != nil {
			a.PlatformState = *pstate
		}
		if a.LastError == "" && perr != nil {
			a.LastError = *perr
		}
		if a.SynchronizedAt != nil {
			t := a.SynchronizedAt.In(b.loc)
			a.SynchronizedAt = &t
		}
		i := idx[subID]
		s.Subscriptions[i].Accesses = append(s.Subscriptions[i].Accesses, a)
	}
	return &s, rows.Err()
}
