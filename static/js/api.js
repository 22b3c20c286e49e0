// JSON requests to the Collateral server (docs/accounts-api.md "Conventions").
//
// Every request is same-origin, sends the CSRF token from <meta name="csrf-token"> in the
// X-CSRFToken header, and answers with the parsed JSON body. A failure throws an ApiError whose
// message is a sentence for a person: the server's own `error` sentence when it gave one (it is
// already in the person's language), otherwise one of ours.

import { msg } from "./ui.js";

export class ApiError extends Error {
  constructor(message, { status = 0, field = null, retryAfterMinutes = null, body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0 when the server could not be reached
    this.field = field;
    this.retryAfterMinutes = retryAfterMinutes;
    this.body = body;
  }
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

async function request(method, url, body) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  // "manual": a JSON endpoint that redirects (to the login page) means the session is over.
  const init = { method, headers, credentials: "same-origin", cache: "no-store", redirect: "manual" };
  if (body instanceof FormData) {
    init.body = body; // multipart/form-data; the browser writes the boundary
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(msg("network-error"));
  }
  if (response.type === "opaqueredirect") throw new ApiError(msg("session-over"), { status: 401 });
  let data = null;
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("application/json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  // A server that renews the session (at login) may renew the CSRF token with it.
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && typeof data?.csrf_token === "string" && data.csrf_token) meta.content = data.csrf_token;
  if (response.ok) {
    if (data === null && response.status !== 204) {
      throw new ApiError(msg("server-unexpected"), { status: response.status });
    }
    return data ?? {};
  }
  const retry = Number.isSafeInteger(data?.retry_after_minutes) ? data.retry_after_minutes : null;
  let message = typeof data?.error === "string" && data.error ? data.error : null;
  if (message === null) {
    message = response.status === 401 ? msg("session-over")
      : response.status === 429 ? msg("too-many") : msg("server-unexpected");
  } else if (typeof data?.detail === "string" && data.detail) {
    // The error pages' second sentence (an expired form: "Reload the page…").
    message += ` ${data.detail}`;
  }
  throw new ApiError(message, {
    status: response.status,
    field: typeof data?.field === "string" ? data.field : null,
    retryAfterMinutes: retry,
    body: data,
  });
}

export const getJson = (url) => request("GET", url);
export const postJson = (url, body) => request("POST", url, body);
export const putJson = (url, body) => request("PUT", url, body);
export const deleteJson = (url) => request("DELETE", url);
/** A multipart/form-data POST (a FormData), answered with JSON. */
export const postForm = (url, formData) => request("POST", url, formData);

/**
 * GET bytes (an attachment's ciphertext). Resolves with {bytes: Uint8Array, headers}; failures
 * throw an ApiError as above.
 */
export async function getBytes(url) {
  let response;
  try {
    response = await fetch(url, {
      method: "GET",
      headers: { Accept: "application/octet-stream", "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
    });
  } catch {
    throw new ApiError(msg("network-error"));
  }
  if (response.type === "opaqueredirect") throw new ApiError(msg("session-over"), { status: 401 });
  if (!response.ok) {
    let data = null;
    if ((response.headers.get("Content-Type") ?? "").includes("application/json")) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    const message = typeof data?.error === "string" && data.error ? data.error
      : response.status === 401 ? msg("session-over") : msg("server-unexpected");
    throw new ApiError(message, { status: response.status, body: data });
  }
  let buffer;
  try {
    buffer = await response.arrayBuffer();
  } catch {
    throw new ApiError(msg("network-error"));
  }
  return { bytes: new Uint8Array(buffer), headers: response.headers };
}
