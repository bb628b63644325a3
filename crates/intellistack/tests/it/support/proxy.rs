//! A TCP forwarder that can be stopped and started again on the same port, so
//! a test can make a database unreachable and bring it back without touching
//! the server under test.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct TcpProxy {
    pub port: u16,
    target: SocketAddr,
    accept: Option<JoinHandle<()>>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let mut proxy = TcpProxy {
            port,
            target,
            accept: None,
            conns: Default::default(),
        };
        proxy.run(listener);
        proxy
    }

    fn run(&mut self, listener: TcpListener) {
        let target = self.target;
        let conns = self.conns.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns.lock().unwrap_or_else(|p| p.into_inner()).push(task);
            }
        }));
    }

    /// Stops listening and cuts every forwarded connection.
    pub fn stop(&mut self) {
        if let Some(a) = self.accept.take() {
            a.abort();
        }
        for c in self
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            c.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&mut self) {
        // The aborted listener is released asynchronously; retry briefly.
        for _ in 0..100 {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", self.port)).await {
                self.run(listener);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("cannot rebind proxy port {}", self.port);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
