package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentIdenticalAttach: 50 identical POST /servicos/{id}/pacotes at
// once give exactly one subscription and one platform plan — enforced by the
// partial unique index, not by luck.
func TestConcurrentIdenticalAttach(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(nil, nil, "19.90", "pro")
		require.Equal(t, 201, e.putService(7001, nil).Status)

		var wg sync.WaitGroup
		statuses := make([]int, 50)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.do("POST", "/api/v1/servicos/7001/pacotes", map[string]any{"id_pacote": pkg}).Status
			}()
		}
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		require.Equal(t, 1, count[http.StatusCreated], "%v", count)
		require.Equal(t, 49, count[http.StatusConflict], "%v", count)

		r := e.do("GET", "/api/v1/servicos/7001/pacotes", nil)
		items := r.JSON(t)["itens"].([]any)
		require.Len(t, items, 1)
		e.waitStatus(idOf(items[0].(map[string]any), "id_assinatura"), "ativo")
		u, ok := e.plat.User("login7001")
		require.True(t, ok)
		require.Equal(t, 1, u.CreateCalls)
		require.Len(t, u.Plans, 1)
	})
}

// TestConcurrentIdempotentPosts: the same Idempotency-Key sent concurrently
// yields one subscription; every answer is the first one replayed, or 409
// while it is still running.
func TestConcurrentIdempotentPosts(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(nil, nil, "19.90", "pro")
		require.Equal(t, 201, e.putService(7002, nil).Status)
		body := fmt.Sprintf(`{"id_pacote": %d}`, pkg)
		var wg sync.WaitGroup
		res := make([]response, 20)
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = e.doKey("POST", "/api/v1/servicos/7002/pacotes", body, "attach-7002")
			}()
		}
		wg.Wait()
		var firstID any
		for _, r := range res {
			switch r.Status {
			case http.StatusCreated:
				id := r.JSON(t)["id_assinatura"]
				if firstID == nil {
					firstID = id
				}
				require.Equal(t, firstID, id)
				require.NotEmpty(t, r.Header.Get("Location"))
			case http.StatusConflict:
			default:
				t.Fatalf("unexpected %d: %s", r.Status, r.Body)
			}
		}
		require.NotNil(t, firstID)
		r := e.do("GET", "/api/v1/servicos/7002/pacotes", nil)
		require.Len(t, r.JSON(t)["itens"].([]any), 1)
		// A later replay answers the same 201; another body with the key is 422.
		again := e.doKey("POST", "/api/v1/servicos/7002/pacotes", body, "attach-7002")
		require.Equal(t, 201, again.Status)
		require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		requireProblem(t, e.doKey("POST", "/api/v1/servicos/7002/pacotes", `{"id_pacote": 999}`, "attach-7002"), 422)
	})
}

// TestConcurrentStatusFlips: concurrent status changes on one service end
// with the platform in the state of the last committed write.
func TestConcurrentStatusFlips(t *testing.T) {
	t.Parallel()
	eachPlatform(t, func(t *testing.T, dialect string, pc platformCase) {
		e := newHarness(t, dialect, withPlatform(pc, simOptions{}))
		_, pkg := e.catalogue(map[string]any{"suspender_inadimplencia": true}, nil, "19.90", "pro")
		require.Equal(t, 201, e.putService(7003, nil).Status)
		r := e.do("POST", "/api/v1/servicos/7003/pacotes", map[string]any{"id_pacote": pkg})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		sub := idOf(r.JSON(t), "id_assinatura")
		e.waitStatus(sub, "ativo")

		statuses := []string{"suspenso_debito", "servico_habilitado", "suspenso_pedido_cliente", "servico_habilitado"}
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := statuses[i%len(statuses)]
				r := e.do("PUT", "/api/v1/servicos/7003/status", map[string]any{"status_prefixo": st})
				require.Equal(t, 200, r.Status, "%s", r.Body)
			}()
		}
		wg.Wait()
		final := e.do("GET", "/api/v1/servicos/7003", nil).JSON(t)["status_prefixo"].(string)
		want := map[string]string{"servico_habilitado": "ativo", "suspenso_debito": "suspenso", "suspenso_pedido_cliente": "suspenso"}[final]
		e.waitSimPlan("login7003", "pro", want)
		e.waitStatus(sub, want)
	})
}
