//! A minimal HTTP/1.1 responder for three GET endpoints: one request per connection, answered
//! and closed. Scrapers and health probes need nothing more, and it spares the process an
//! HTTP stack (hyper and its companions) for three fixed pages.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The most a request head may be; anything longer is refused.
const MAX_HEAD: usize = 8192;
/// A client that has not sent its request by then is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

/// What a request asks for: its path (without a query) and its Accept header.
pub struct Request {
    pub path: String,
    pub accept: String,
}

pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// Accept connections forever, each answered in its own task.
pub async fn serve(listener: TcpListener, handler: Handler) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let _ = answer(stream, handler).await;
        });
    }
}

async fn answer(mut stream: TcpStream, handler: Handler) -> std::io::Result<()> {
    let mut head = Vec::new();
    let complete = tokio::time::timeout(READ_TIMEOUT, async {
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() <= MAX_HEAD {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok::<bool, std::io::Error>(false);
            }
            head.extend_from_slice(&chunk[..n]);
        }
        Ok(head.len() <= MAX_HEAD)
    })
    .await;
    let (response, with_body) = match complete {
        Ok(Ok(true)) => match parse(&head) {
            // HEAD: the same headers (Content-Length included), no body.
            Ok((method, request)) => (handler(&request), method != "HEAD"),
            Err(r) => (r, true),
        },
        Ok(Ok(false)) => (Response::text(431, "request header too large\n"), true),
        // Timed out or the connection broke: nothing to answer.
        _ => return Ok(()),
    };
    write(&mut stream, &response, with_body).await
}

fn parse(head: &[u8]) -> Result<(String, Request), Response> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (words.next(), words.next(), words.next())
    else {
        return Err(Response::text(400, "bad request\n"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Response::text(505, "HTTP/1.x only\n"));
    }
    if method != "GET" && method != "HEAD" {
        return Err(Response::text(405, "only GET and HEAD\n"));
    }
    let accept = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_string();
    Ok((method.to_string(), Request { path, accept }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

async fn write(stream: &mut TcpStream, r: &Response, with_body: bool) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    if with_body {
        out.push_str(&r.body);
    }
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_as_path_and_accept() {
        let (m, r) = parse(
            b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: application/openmetrics-text\r\n\r\n",
        )
        .ok()
        .unwrap();
        assert_eq!((m.as_str(), r.path.as_str()), ("GET", "/metrics"));
        assert_eq!(r.accept, "application/openmetrics-text");
        assert_eq!(parse(b"POST / HTTP/1.1\r\n\r\n").err().unwrap().status, 405);
        assert_eq!(parse(b"GET\r\n\r\n").err().unwrap().status, 400);
        assert_eq!(parse(b"GET / SPDY/3\r\n\r\n").err().unwrap().status, 505);
    }
}
