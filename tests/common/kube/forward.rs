//! The fake API server's Services, single-object GETs and the pod
//! `portforward` subresource as the API server and kubelet speak it to
//! kube-rs (apiserver `wsstream`, kubelet `portforward/websocket.go`):
//! - a WebSocket upgrade offering `v5.channel.k8s.io, v4.channel.k8s.io`,
//!   answered with `v4.channel.k8s.io`;
//! - per port two channels, data (2·i) and error (2·i+1); each one's first
//!   frame is the channel byte then the port, little-endian (3 bytes);
//! - data frames from the client are `[0, bytes…]`; the pod's bytes come
//!   back as `[0, bytes…]`; a port the pod does not listen on is said on the
//!   error channel (the kubelet's text) and the socket closes;
//! - the pod deleted: every forward to it closes.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::super::http::Request;
use super::{send, status, FakeKube};

impl FakeKube {
    /// Adds or replaces a Service: `selector` and ports as
    /// (name, port, targetPort as JSON: a number or a port name).
    pub fn put_service(
        &self,
        ns: &str,
        name: &str,
        selector: &[(&str, &str)],
        ports: &[(&str, u16, Value)],
    ) {
        let sel: serde_json::Map<String, Value> = selector
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let ports: Vec<Value> = ports
            .iter()
            .map(|(n, p, t)| json!({"name": n, "port": p, "protocol": "TCP", "targetPort": t}))
            .collect();
        let svc = json!({"kind": "Service", "apiVersion": "v1",
            "metadata": {"creationTimestamp": "2026-12-06T00:00:00Z"},
            "spec": {"selector": sel, "ports": ports, "type": "ClusterIP", "clusterIP": "10.0.0.9"}});
        self.change("services", ns, name, Some(svc));
    }

    /// What a forward to `pod`:`port` reaches (a real server's address).
    pub fn set_backend(&self, ns: &str, pod: &str, port: u16, addr: SocketAddr) {
        self.state
            .lock()
            .unwrap()
            .backends
            .insert((ns.into(), pod.into(), port), addr);
    }

    /// Forwards opened so far (WebSocket upgrades answered 101).
    pub fn forwards_opened(&self) -> usize {
        self.state.lock().unwrap().forwards_opened
    }

    /// `GET /api/v1/namespaces/NS/{pods,services}/NAME` and the portforward
    /// subresource; None when the path is not one of these.
    pub(super) async fn object_route(
        &self,
        sock: &mut tokio::net::TcpStream,
        req: &Request,
    ) -> Option<()> {
        let path = req.path().to_string();
        let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match p.as_slice() {
            ["api", "v1", "namespaces", ns, r, name] if *r == "pods" || *r == "services" => {
                let key = (r.to_string(), ns.to_string(), name.to_string());
                let obj = self.state.lock().unwrap().objects.get(&key).cloned();
                match obj {
                    Some(o) => send(sock, 200, &o).await,
                    None => {
                        let msg = format!("{r} \"{name}\" not found");
                        let mut st = status(404, "NotFound", &msg);
                        st["details"] = json!({"name": name, "kind": r});
                        send(sock, 404, &st).await
                    }
                }
                Some(())
            }
            ["api", "v1", "namespaces", ns, "pods", name, "portforward"] => {
                let (ns, name) = (ns.to_string(), name.to_string());
                self.portforward(sock, req, &ns, &name).await;
                Some(())
            }
            _ => None,
        }
    }

    async fn portforward(
        &self,
        sock: &mut tokio::net::TcpStream,
        req: &Request,
        ns: &str,
        name: &str,
    ) {
        let key = ("pods".to_string(), ns.to_string(), name.to_string());
        let pod = self.state.lock().unwrap().objects.get(&key).cloned();
        let Some(pod) = pod else {
            let msg = format!("pods \"{name}\" not found");
            return send(sock, 404, &status(404, "NotFound", &msg)).await;
        };
        if pod["status"]["phase"] != "Running" {
            let msg = format!(
                "unable to upgrade connection: pod {name} is not running (phase {})",
                pod["status"]["phase"]
            );
            return send(sock, 400, &status(400, "BadRequest", &msg)).await;
        }
        let ports: Vec<u16> = super::query(&req.target)
            .get("ports")
            .map(|p| p.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_default();
        let [port] = ports[..] else {
            let msg = "query parameter \"port\" is required (one port per forward here)";
            return send(sock, 400, &status(400, "BadRequest", msg)).await;
        };
        let offered = req.header("sec-websocket-protocol").unwrap_or("");
        let (Some(ws_key), true) = (
            req.header("sec-websocket-key"),
            offered.split(',').any(|p| p.trim() == "v4.channel.k8s.io"),
        ) else {
            let msg = "unable to upgrade: the client offered no v4.channel.k8s.io";
            return send(sock, 400, &status(400, "BadRequest", msg)).await;
        };
        let accept =
            tokio_tungstenite::tungstenite::handshake::derive_accept_key(ws_key.as_bytes());
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {accept}\r\nsec-websocket-protocol: v4.channel.k8s.io\r\n\r\n"
        );
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let backend = {
            let mut s = self.state.lock().unwrap();
            s.forwards_opened += 1;
            s.backends
                .get(&(ns.to_string(), name.to_string(), port))
                .copied()
        };
        let mut ws = WebSocketStream::from_raw_socket(sock, Role::Server, None).await;
        let lo_hi = port.to_le_bytes();
        for ch in [0u8, 1] {
            if ws
                .send(Message::binary(vec![ch, lo_hi[0], lo_hi[1]]))
                .await
                .is_err()
            {
                return;
            }
        }
        let conn = match backend {
            Some(a) => tokio::net::TcpStream::connect(a).await.ok(),
            None => None,
        };
        let Some(mut conn) = conn else {
            // the kubelet's own words, on the error channel
            let text = format!(
                "error forwarding port {port} to pod {uid}, uid : failed to execute portforward in network namespace \"/var/run/netns/cni-1\": failed to connect to localhost:{port} inside namespace \"{uid}\", IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused "
            );
            let mut frame = vec![1u8];
            frame.extend(text.as_bytes());
            let _ = ws.send(Message::binary(frame)).await;
            let _ = ws.close(None).await;
            return;
        };
        let mut changed = self.changed.subscribe();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                msg = ws.next() => match msg {
                    Some(Ok(Message::Binary(b))) if b.len() > 1 && b[0] == 0 => {
                        if conn.write_all(&b[1..]).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Binary(_))) | Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) => {}
                    _ => break,
                },
                n = conn.read(&mut buf) => match n {
                    Ok(n) if n > 0 => {
                        let mut frame = Vec::with_capacity(n + 1);
                        frame.push(0u8);
                        frame.extend_from_slice(&buf[..n]);
                        if ws.send(Message::binary(frame)).await.is_err() {
                            break;
                        }
                    }
                    _ => break,
                },
                r = changed.changed() => {
                    // the pod deleted (or replaced under its name): the forward ends
                    let gone = self.state.lock().unwrap().objects.get(&key)
                        .is_none_or(|p| p["metadata"]["uid"].as_str() != Some(uid.as_str()));
                    if r.is_err() || gone {
                        break;
                    }
                }
            }
        }
        let _ = ws.close(None).await;
    }
}

/// The pod's labels match every `k=v` of a `labelSelector`.
pub(super) fn selected(obj: &Value, selector: Option<&String>) -> bool {
    let Some(sel) = selector.filter(|s| !s.is_empty()) else {
        return true;
    };
    sel.split(',').all(|kv| match kv.split_once('=') {
        Some((k, v)) => obj["metadata"]["labels"][k].as_str() == Some(v),
        None => false,
    })
}
