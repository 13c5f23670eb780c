// Command launch runs a real Kubernetes control plane on 127.0.0.1 from the binaries build.sh
// made: etcd, kube-apiserver (RBAC and Node authorization, ServiceAccount tokens, the default
// admission plugins with PodSecurity), kube-controller-manager and kube-scheduler.
//
//	launch --bin BIN [--port N] DIR
//
// With --stop-on-stdin-eof, stdin is also a command channel, one command a line, each answered on
// stdout with one line "ok <command>" or "error <command>: <why>" once done:
//
//	stop PART    SIGTERM, then wait until it exited (the other parts keep running)
//	kill PART    SIGKILL, then wait until it exited
//	start PART   start a stopped part again with the same flags (same port, same etcd), wait until ready
//	crash PART   SIGKILL, wait until it exited, and treat that as the part dying by itself (below)
//
// PART is etcd, kube-apiserver, kube-controller-manager or kube-scheduler: an API server failover
// (kill kube-apiserver, start kube-apiserver) is what a client of a real cluster meets.
//
// Once every part is ready, kube-controller-manager and kube-scheduler are restarted when they
// exit (they do when the API server they start against refuses them, e.g. with 403 before its
// authorizer has synced), as the kubelet restarts a cluster's static pods: at most 5 times in 5
// minutes, with a doubling delay. Any other part exiting stops the control plane.
//
// DIR holds everything: pki/ (made once), etcd/ (the data), kubeconfigs/ (the components'),
// logs/<part>.log and, only while every part is ready, DIR/kubeconfig (admin, system:masters).
// The path of that kubeconfig is printed on stdout when ready. SIGINT/SIGTERM stop every part;
// starting again on the same DIR keeps the data, the keys and (when still free) the ports.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"sync/atomic"
	"syscall"
	"time"
)

// The service-account issuer: stable across restarts (tokens already issued stay valid).
const issuer = "https://kubernetes.default.svc.cluster.local"

var (
	started = time.Now()
	logf    = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[control-plane %5.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
	}
)

func main() {
	binDir := flag.String("bin", os.Getenv("CONTROL_PLANE_BIN"), "directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler (build.sh prints it)")
	port := flag.Int("port", 0, "kube-apiserver's port on 127.0.0.1 (0: the one of the last start if free, else a free one)")
	serviceCIDR := flag.String("service-cluster-ip-range", "10.0.0.0/24", "the Services' IP range")
	timeout := flag.Duration("timeout", 3*time.Minute, "how long the parts may take to become ready")
	stdinEOF := flag.Bool("stop-on-stdin-eof", false, "stop every part when stdin reaches its end (a parent that holds a pipe to it has exited, even by SIGKILL)")
	nodeNames := flag.String("nodes", "", "comma-separated node names: each gets a client certificate system:node:<name> (group system:nodes) in DIR/kubeconfigs/node-<name>.kubeconfig, for a kubelet of its own")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s --bin BIN DIR [--port N] [--timeout D] [--nodes a,b] [--stop-on-stdin-eof]\n", filepath.Base(os.Args[0]))
		flag.PrintDefaults()
	}
	// Flags may come before or after DIR (start.sh DIR --port 6443).
	var positional []string
	for args := os.Args[1:]; ; {
		_ = flag.CommandLine.Parse(args) // exits on a bad flag
		if args = flag.Args(); len(args) == 0 {
			break
		}
		positional, args = append(positional, args[0]), args[1:]
	}
	if len(positional) != 1 || *binDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	var nodes []string
	for _, n := range strings.Split(*nodeNames, ",") {
		if n = strings.TrimSpace(n); n != "" {
			nodes = append(nodes, n)
		}
	}
	commands := make(chan string)
	if *stdinEOF {
		go func() {
			lines := bufio.NewScanner(os.Stdin)
			for lines.Scan() {
				if c := strings.TrimSpace(lines.Text()); c != "" {
					commands <- c
				}
			}
			logf("stdin closed: the parent has gone; stopping")
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		}()
	}
	if err := run(*binDir, positional[0], *port, *serviceCIDR, *timeout, nodes, commands); err != nil {
		logf("error: %v", err)
		os.Exit(1)
	}
}

type ports struct {
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	APIServer  int `json:"apiServer"`
	Controller int `json:"controllerManager"`
	Scheduler  int `json:"scheduler"`
}

func run(binDir, dir string, wantPort int, serviceCIDR string, timeout time.Duration, nodes []string, commands <-chan string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return fmt.Errorf("%s: %w (run packages/devkit/control-plane/build.sh)", b, err)
		}
	}
	for _, d := range []string{"logs", "kubeconfigs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	_ = os.Remove(kubeconfig) // present only while this start is ready

	_, svcNet, err := net.ParseCIDR(serviceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cluster-ip-range: %w", err)
	}
	serviceIP := append(net.IP(nil), svcNet.IP.To4()...)
	serviceIP[len(serviceIP)-1]++ // the `kubernetes` Service's ClusterIP
	keys := pki{filepath.Join(dir, "pki")}
	if err := keys.ensure(serviceIP); err != nil {
		return fmt.Errorf("keys and certificates: %w", err)
	}
	for _, n := range nodes {
		if err := keys.ensureClient(clientIdentity{"node-" + n, "system:node:" + n, []string{"system:nodes"}}); err != nil {
			return fmt.Errorf("node %s's certificate: %w", n, err)
		}
		// The node's kubelet endpoint (logs), on 127.0.0.1; kube-apiserver checks it against the CA.
		if err := keys.ensureServing("kubelet-"+n, "system:node:"+n, []string{n, "localhost"}, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
			return fmt.Errorf("node %s's serving certificate: %w", n, err)
		}
	}

	p, err := choosePorts(filepath.Join(dir, "ports.json"), wantPort)
	if err != nil {
		return err
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", p.APIServer)
	for _, id := range clientIdentities[1:] {
		if err := writeKubeconfig(filepath.Join(dir, "kubeconfigs", id.file+".kubeconfig"), server, keys, id.file); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		if err := writeKubeconfig(filepath.Join(dir, "kubeconfigs", "node-"+n+".kubeconfig"), server, keys, "node-"+n); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	sup := &supervisor{logDir: filepath.Join(dir, "logs"), died: make(chan *part, 4), restarts: map[string][]time.Time{}}
	defer sup.stopAll()

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdPeer)
	k := func(name string) string { return filepath.Join(dir, "kubeconfigs", name+".kubeconfig") }
	steps := []struct {
		name  string
		args  []string
		ready func(context.Context) error
	}{
		{"etcd", []string{
			"--name", "control-plane", "--data-dir", filepath.Join(dir, "etcd"),
			"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
			"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", "control-plane=" + peerURL, "--initial-cluster-state", "new",
			"--unsafe-no-fsync", "--log-level", "warn",
		}, func(ctx context.Context) error {
			return get(ctx, plainClient, etcdURL+"/health", `"health":"true"`)
		}},
		{"kube-apiserver", []string{
			"--etcd-servers", etcdURL,
			"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(p.APIServer),
			"--cert-dir", filepath.Join(dir, "pki", "kube-apiserver"),
			"--tls-cert-file", keys.path("apiserver.crt"), "--tls-private-key-file", keys.path("apiserver.key"),
			"--client-ca-file", keys.path("ca.crt"),
			"--requestheader-client-ca-file", keys.path("front-proxy-ca.crt"),
			"--requestheader-allowed-names", "front-proxy-client",
			"--requestheader-username-headers", "X-Remote-User", "--requestheader-group-headers", "X-Remote-Group",
			"--requestheader-extra-headers-prefix", "X-Remote-Extra-",
			"--proxy-client-cert-file", keys.path("front-proxy-client.crt"), "--proxy-client-key-file", keys.path("front-proxy-client.key"),
			"--service-account-issuer", issuer, "--api-audiences", issuer,
			"--service-account-key-file", keys.path("sa.pub"), "--service-account-signing-key-file", keys.path("sa.key"),
			"--authorization-mode", "Node,RBAC",
			// The nodes' kubelet endpoints (pods/log): at their InternalIP, 127.0.0.1, with a serving
			// certificate of the cluster CA; kube-apiserver shows them its own client certificate.
			"--kubelet-preferred-address-types", "InternalIP",
			"--kubelet-certificate-authority", keys.path("ca.crt"),
			"--kubelet-client-certificate", keys.path("apiserver-kubelet-client.crt"),
			"--kubelet-client-key", keys.path("apiserver-kubelet-client.key"),
			// The defaults (NamespaceLifecycle, LimitRanger, ServiceAccount, PodSecurity, ResourceQuota,
			// the webhooks, …) stay on; NodeRestriction is added, as kubeadm does, for the nodes to come.
			"--enable-admission-plugins", "NodeRestriction",
			"--service-cluster-ip-range", serviceCIDR,
			"--allow-privileged",
			// The Endpoints of the `kubernetes` Service may not be a loopback address; the parts and
			// the agents reach the API server at 127.0.0.1 directly.
			"--endpoint-reconciler-type", "none",
			"--profiling=false",
		}, func(ctx context.Context) error {
			return get(ctx, sup.adminClient(keys), server+"/readyz", "ok")
		}},
		{"kube-controller-manager", []string{
			"--kubeconfig", k("kube-controller-manager"),
			"--authentication-kubeconfig", k("kube-controller-manager"), "--authorization-kubeconfig", k("kube-controller-manager"),
			"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(p.Controller),
			"--cert-dir", filepath.Join(dir, "pki", "kube-controller-manager"),
			"--controllers", "*", "--use-service-account-credentials", "--leader-elect=false",
			"--root-ca-file", keys.path("ca.crt"), "--service-account-private-key-file", keys.path("sa.key"),
			"--cluster-signing-cert-file", keys.path("ca.crt"), "--cluster-signing-key-file", keys.path("ca.key"),
			"--service-cluster-ip-range", serviceCIDR,
			"--profiling=false",
		}, func(ctx context.Context) error {
			return get(ctx, insecureClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", p.Controller), "ok")
		}},
		{"kube-scheduler", []string{
			"--kubeconfig", k("kube-scheduler"),
			"--authentication-kubeconfig", k("kube-scheduler"), "--authorization-kubeconfig", k("kube-scheduler"),
			"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(p.Scheduler),
			"--cert-dir", filepath.Join(dir, "pki", "kube-scheduler"),
			"--leader-elect=false",
			"--profiling=false",
		}, func(ctx context.Context) error {
			return get(ctx, insecureClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", p.Scheduler), "ok")
		}},
	}

	readyCtx, cancelReady := context.WithTimeout(ctx, timeout)
	defer cancelReady()
	for _, s := range steps {
		t0 := time.Now()
		if _, err := sup.start(s.name, filepath.Join(binDir, s.name), s.args); err != nil {
			return err
		}
		if err := sup.waitFor(readyCtx, s.name, s.ready); err != nil {
			return err
		}
		logf("%s ready (%.1fs)", s.name, time.Since(t0).Seconds())
	}
	// A pod can be created once the default ServiceAccount exists (the ServiceAccount admission
	// plugin refuses pods until then); the controller-manager makes it.
	saURL := server + "/api/v1/namespaces/default/serviceaccounts/default"
	if err := sup.waitFor(readyCtx, "default ServiceAccount", func(ctx context.Context) error {
		return get(ctx, sup.adminClient(keys), saURL, `"name":"default"`)
	}); err != nil {
		return err
	}
	if err := writeKubeconfig(kubeconfig, server, keys, "admin"); err != nil {
		return err
	}
	defer os.Remove(kubeconfig)
	sup.running = true
	logf("ready in %.1fs: kube-apiserver %s, etcd %s, logs in %s", time.Since(started).Seconds(), server, etcdURL, sup.logDir)
	fmt.Println(kubeconfig)

	for {
		select {
		case <-ctx.Done():
			logf("stopping")
			return nil
		case pt := <-sup.died:
			if err := sup.handleDeath(ctx, pt); err != nil {
				logf("%v; stopping the other parts", err)
				return err
			}
		case c := <-commands:
			verb, name, _ := strings.Cut(c, " ")
			err := func() error {
				for _, s := range steps {
					if s.name != name {
						continue
					}
					switch verb {
					case "stop":
						return sup.stopPart(name, syscall.SIGTERM)
					case "kill":
						return sup.stopPart(name, syscall.SIGKILL)
					case "crash":
						return sup.crashPart(name)
					case "start":
						startCtx, cancel := context.WithTimeout(ctx, timeout)
						defer cancel()
						t0 := time.Now()
						if err := sup.restart(name); err != nil {
							return err
						}
						if err := sup.waitFor(startCtx, s.name, s.ready); err != nil {
							return err
						}
						logf("%s ready again (%.1fs)", s.name, time.Since(t0).Seconds())
						return nil
					}
					return fmt.Errorf("unknown command %q (stop, kill, start or crash)", verb)
				}
				return fmt.Errorf("no part %q", name)
			}()
			if err != nil {
				logf("%s: %v", c, err)
				fmt.Printf("error %s: %s\n", c, strings.ReplaceAll(err.Error(), "\n", " | "))
				var fatal *partDied
				if errors.As(err, &fatal) {
					return err
				}
			} else {
				fmt.Printf("ok %s\n", c)
			}
		}
	}
}

// choosePorts keeps the ports of the last start when they are free (a kubeconfig handed out
// stays right, and etcd's member keeps its peer URL), else picks free ones.
func choosePorts(file string, wantAPI int) (ports, error) {
	var p ports
	if data, err := os.ReadFile(file); err == nil {
		_ = json.Unmarshal(data, &p)
	}
	if wantAPI != 0 {
		if !portFree(wantAPI) {
			return p, fmt.Errorf("--port %d: 127.0.0.1:%d is in use", wantAPI, wantAPI)
		}
		p.APIServer = wantAPI
	}
	taken := map[int]bool{}
	for _, ptr := range []*int{&p.EtcdClient, &p.EtcdPeer, &p.APIServer, &p.Controller, &p.Scheduler} {
		if *ptr == 0 || taken[*ptr] || !portFree(*ptr) {
			for {
				n, err := freePort()
				if err != nil {
					return p, err
				}
				if !taken[n] {
					*ptr = n
					break
				}
			}
		}
		taken[*ptr] = true
	}
	data, _ := json.MarshalIndent(p, "", "  ")
	return p, writeAtomic(file, append(data, '\n'), 0o644)
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockDir makes sure one launcher at a time owns DIR.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "launch.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := io.ReadAll(f)
		f.Close()
		return nil, fmt.Errorf("%s is in use by another launcher (pid %s)", dir, strings.TrimSpace(string(pid)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}

func writeKubeconfig(path, server string, keys pki, identity string) error {
	ca, err1 := os.ReadFile(keys.path("ca.crt"))
	crt, err2 := os.ReadFile(keys.path(identity + ".crt"))
	key, err3 := os.ReadFile(keys.path(identity + ".key"))
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	// JSON is YAML; kubectl and client libraries read it as a kubeconfig.
	cfg := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "control-plane",
		"clusters": []any{map[string]any{"name": "control-plane", "cluster": map[string]any{
			"server": server, "certificate-authority-data": ca}}},
		"users": []any{map[string]any{"name": identity, "user": map[string]any{
			"client-certificate-data": crt, "client-key-data": key}}},
		"contexts": []any{map[string]any{"name": "control-plane", "context": map[string]any{
			"cluster": "control-plane", "user": identity, "namespace": "default"}}},
	}
	data, err := json.MarshalIndent(cfg, "", "  ") // []byte fields become base64, as kubeconfig wants
	if err != nil {
		return err
	}
	return writeAtomic(path, append(data, '\n'), 0o600)
}

// --- HTTP checks -----------------------------------------------------------------------------

var (
	plainClient    = &http.Client{Timeout: 5 * time.Second}
	insecureClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// kube-controller-manager and kube-scheduler serve /healthz with a self-signed certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
)

func get(ctx context.Context, c *http.Client, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// --- the parts ---------------------------------------------------------------------------------

type part struct {
	name    string
	path    string
	args    []string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
	// Set before a stop asked for by a command: its exit is then no failure of the control plane.
	stopping atomic.Bool
}

type supervisor struct {
	logDir string
	parts  []*part
	died   chan *part
	admin  *http.Client
	// Set once every part is ready: from then on the restartable parts are restarted when they exit.
	running  bool
	restarts map[string][]time.Time
}

// Parts a kubelet would restart (static pods) and that recover by a restart; etcd and
// kube-apiserver exiting is a failure of the control plane.
var restartable = map[string]bool{"kube-controller-manager": true, "kube-scheduler": true}

// partDied: a part exited and is not restarted; the control plane stops.
type partDied struct {
	name string
	err  error
	log  string
	why  string
}

func (e *partDied) Error() string {
	return fmt.Sprintf("%s exited%s: %v; the end of %s:\n%s", e.name, e.why, e.err, e.log, tail(e.log, 20))
}

// handleDeath restarts a restartable part that exited once the control plane runs (at most 5
// times in 5 minutes, 1 s, 2 s, 4 s… apart), or says why the control plane must stop.
func (s *supervisor) handleDeath(ctx context.Context, pt *part) error {
	if _, cur := s.find(pt.name); cur != pt {
		return nil // an earlier process of a part started again since
	}
	if !s.running {
		return &partDied{name: pt.name, err: pt.err, log: pt.logPath, why: " while starting"}
	}
	if !restartable[pt.name] {
		return &partDied{name: pt.name, err: pt.err, log: pt.logPath}
	}
	var recent []time.Time
	for _, t := range s.restarts[pt.name] {
		if time.Since(t) < 5*time.Minute {
			recent = append(recent, t)
		}
	}
	if len(recent) >= 5 {
		return &partDied{name: pt.name, err: pt.err, log: pt.logPath, why: fmt.Sprintf(" again after %d restarts in 5 minutes", len(recent))}
	}
	delay := time.Second << len(recent)
	logf("%s exited (%v); restarting it in %v (the end of %s:\n%s)", pt.name, pt.err, delay, pt.logPath, tail(pt.logPath, 3))
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(delay):
	}
	s.restarts[pt.name] = append(recent, time.Now())
	if err := s.restart(pt.name); err != nil {
		return &partDied{name: pt.name, err: err, log: pt.logPath, why: " and could not be started again"}
	}
	return nil
}

func (s *supervisor) adminClient(keys pki) *http.Client {
	if s.admin != nil {
		return s.admin
	}
	cert, err := tls.LoadX509KeyPair(keys.path("admin.crt"), keys.path("admin.key"))
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(keys.path("ca.crt"))
	pool.AppendCertsFromPEM(caPEM)
	s.admin = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}}}
	return s.admin
}

func (s *supervisor) start(name, path string, args []string) (*part, error) {
	logPath := filepath.Join(s.logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "\n==== %s %s\n%s %s\n", time.Now().UTC().Format(time.RFC3339), name, path, strings.Join(args, " "))
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr() // own process group (a terminal's Ctrl-C reaches the launcher only)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	pt := &part{name: name, path: path, args: args, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	s.parts = append(s.parts, pt)
	go func() {
		pt.err = cmd.Wait()
		f.Close()
		close(pt.exited)
		if pt.stopping.Load() {
			return
		}
		select {
		case s.died <- pt:
		default:
		}
	}()
	return pt, nil
}

func (s *supervisor) find(name string) (int, *part) {
	for i, pt := range s.parts {
		if pt.name == name {
			return i, pt
		}
	}
	return -1, nil
}

// stopPart stops one part with sig (SIGKILL after 15 seconds) and waits until it exited.
func (s *supervisor) stopPart(name string, sig syscall.Signal) error {
	_, pt := s.find(name)
	if pt == nil {
		return fmt.Errorf("%s was never started", name)
	}
	select {
	case <-pt.exited:
		return fmt.Errorf("%s is not running", name)
	default:
	}
	pt.stopping.Store(true)
	_ = pt.cmd.Process.Signal(sig)
	select {
	case <-pt.exited:
	case <-time.After(15 * time.Second):
		_ = pt.cmd.Process.Kill()
		<-pt.exited
	}
	logf("%s stopped (%v, as asked)", name, sig)
	return nil
}

// crashPart SIGKILLs a part as if it had died: the supervision (handleDeath) then acts on it.
func (s *supervisor) crashPart(name string) error {
	_, pt := s.find(name)
	if pt == nil {
		return fmt.Errorf("%s was never started", name)
	}
	select {
	case <-pt.exited:
		return fmt.Errorf("%s is not running", name)
	default:
	}
	_ = pt.cmd.Process.Kill()
	<-pt.exited
	return nil
}

// restart starts a part that exited again with the same flags, in its place in the order (stopAll
// stops it in turn).
func (s *supervisor) restart(name string) error {
	i, old := s.find(name)
	if old == nil {
		return fmt.Errorf("%s was never started", name)
	}
	select {
	case <-old.exited:
	default:
		return fmt.Errorf("%s is running (stop it first)", name)
	}
	pt, err := s.start(name, old.path, old.args)
	if err != nil {
		return err
	}
	s.parts = s.parts[:len(s.parts)-1] // start appended it
	s.parts[i] = pt
	return nil
}

// waitFor polls ready until it succeeds, a part exits, or ctx ends.
func (s *supervisor) waitFor(ctx context.Context, what string, ready func(context.Context) error) error {
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case pt := <-s.died:
			// Another part may be restarted meanwhile; the one waited for exiting is an error.
			if err := s.handleDeath(ctx, pt); err != nil {
				return err
			}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s not ready in time: %v (see %s)", what, last, s.logDir)
			}
			return fmt.Errorf("interrupted while waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stopAll stops the parts in reverse order: SIGTERM, then SIGKILL after 15 seconds.
func (s *supervisor) stopAll() {
	for i := len(s.parts) - 1; i >= 0; i-- {
		pt := s.parts[i]
		select {
		case <-pt.exited:
			continue
		default:
		}
		_ = pt.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-pt.exited:
		case <-time.After(15 * time.Second):
			logf("%s did not stop on SIGTERM; killing it", pt.name)
			_ = pt.cmd.Process.Kill()
			<-pt.exited
		}
		logf("%s stopped", pt.name)
	}
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
