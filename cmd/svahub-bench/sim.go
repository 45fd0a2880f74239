package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/svahub/svahub/pkg/qualifica/qualificasim"
)

// simServer is the Qualifica simulator served on 127.0.0.1 by this tool.
type simServer struct {
	*qualificasim.Sim
	srv *http.Server
	url string
}

func startSim(latency time.Duration, rateLimit float64) (*simServer, error) {
	sim := qualificasim.New(qualificasim.Options{Latency: latency, RateLimit: rateLimit, Seed: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &simServer{Sim: sim, srv: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}, url: "http://" + ln.Addr().String()}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *simServer) close() {
	s.Sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}
