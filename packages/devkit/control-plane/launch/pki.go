package main

// The cluster's keys and certificates, made once per directory and kept on restart (etcd's data
// refers to the service-account issuer and key, and a kubeconfig handed out stays valid).

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// clientIdentity is one client certificate signed by the cluster CA.
type clientIdentity struct {
	file   string // pki/<file>.crt and .key
	user   string // CN: the user name the API server sees
	groups []string
}

var clientIdentities = []clientIdentity{
	{"admin", "kubernetes-admin", []string{"system:masters"}},
	{"kube-controller-manager", "system:kube-controller-manager", nil},
	{"kube-scheduler", "system:kube-scheduler", nil},
	// kube-apiserver's identity towards the kubelets (pods/log), as kubeadm names it.
	{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", nil},
}

type pki struct{ dir string }

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

// ensure creates whatever is missing. The CA is made first; if it had to be made, every
// certificate is made again, so nothing is ever signed by a CA that no longer exists.
func (p pki) ensure(serviceIP net.IP) error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	freshCA := !exists(p.path("ca.crt")) || !exists(p.path("ca.key"))
	if freshCA {
		if err := p.makeCA("ca", "restore-controller-control-plane-ca"); err != nil {
			return err
		}
	}
	caCert, caKey, err := p.loadCA("ca")
	if err != nil {
		return err
	}
	// The front proxy's CA and client (the requestheader authenticator, as kubeadm sets it up): the
	// aggregator proxies to extension API servers with it, and the controllers read its CA from
	// kube-system/extension-apiserver-authentication.
	if !exists(p.path("front-proxy-ca.crt")) || !exists(p.path("front-proxy-ca.key")) ||
		!exists(p.path("front-proxy-client.crt")) || !exists(p.path("front-proxy-client.key")) {
		if err := p.makeCA("front-proxy-ca", "restore-controller-front-proxy-ca"); err != nil {
			return err
		}
		fpCert, fpKey, err := p.loadCA("front-proxy-ca")
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "front-proxy-client"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := p.issue("front-proxy-client", tmpl, fpCert, fpKey); err != nil {
			return err
		}
	}
	if freshCA || !exists(p.path("apiserver.crt")) || !exists(p.path("apiserver.key")) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback, serviceIP},
		}
		if err := p.issue("apiserver", tmpl, caCert, caKey); err != nil {
			return err
		}
	}
	for _, id := range clientIdentities {
		if !freshCA && exists(p.path(id.file+".crt")) && exists(p.path(id.file+".key")) {
			continue
		}
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: id.user, Organization: id.groups},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := p.issue(id.file, tmpl, caCert, caKey); err != nil {
			return err
		}
	}
	// The service-account signing key pair (RS256, what every token consumer accepts).
	if !exists(p.path("sa.key")) || !exists(p.path("sa.pub")) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return err
		}
		if err := writePEM(p.path("sa.key"), "PRIVATE KEY", der, 0o600); err != nil {
			return err
		}
		if err := writePEM(p.path("sa.pub"), "PUBLIC KEY", pub, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ensureClient issues a client certificate signed by the cluster CA (a node's, asked for by
// --nodes) unless one for the same user, signed by the current CA, is already there.
func (p pki) ensureClient(id clientIdentity) error {
	caCert, caKey, err := p.loadCA("ca")
	if err != nil {
		return err
	}
	if exists(p.path(id.file+".crt")) && exists(p.path(id.file+".key")) {
		if data, err := os.ReadFile(p.path(id.file + ".crt")); err == nil {
			if b, _ := pem.Decode(data); b != nil {
				if c, err := x509.ParseCertificate(b.Bytes); err == nil && c.CheckSignatureFrom(caCert) == nil && c.Subject.CommonName == id.user {
					return nil
				}
			}
		}
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: id.user, Organization: id.groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return p.issue(id.file, tmpl, caCert, caKey)
}

// ensureServing issues a serving certificate signed by the cluster CA unless a valid one for the
// same subject is there.
func (p pki) ensureServing(file, cn string, dns []string, ips []net.IP) error {
	caCert, caKey, err := p.loadCA("ca")
	if err != nil {
		return err
	}
	if data, err := os.ReadFile(p.path(file + ".crt")); err == nil && exists(p.path(file+".key")) {
		if b, _ := pem.Decode(data); b != nil {
			if c, err := x509.ParseCertificate(b.Bytes); err == nil && c.CheckSignatureFrom(caCert) == nil && c.Subject.CommonName == cn {
				return nil
			}
		}
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    dns,
		IPAddresses: ips,
	}
	return p.issue(file, tmpl, caCert, caKey)
}

func (p pki) makeCA(name, cn string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	return p.write(name, der, key)
}

func (p pki) loadCA(name string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(p.path(name + ".crt"))
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(p.path(name + ".key"))
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("%s: %s.crt or %s.key is not PEM", p.dir, name, name)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %s.key cannot sign", p.dir, name)
	}
	return cert, signer, nil
}

func (p pki) issue(name string, tmpl *x509.Certificate, ca *x509.Certificate, caKey crypto.Signer) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.AddDate(10, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	return p.write(name, der, key)
}

func (p pki) write(name string, certDER []byte, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(p.path(name+".key"), "PRIVATE KEY", der, 0o600); err != nil {
		return err
	}
	return writePEM(p.path(name+".crt"), "CERTIFICATE", certDER, 0o644)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// writeAtomic writes a file whole or not at all (a reader never sees half of it).
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
