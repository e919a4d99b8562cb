// The one door to the query API: every call carries the key the user
// logged in with (session storage, sent as a Bearer token) and every
// failure becomes an ApiError holding the API's own message.

const KEY = 'logwarden.key';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  key: () => sessionStorage.getItem(KEY),
  set: (key) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

async function call(method, path, { params, body, key } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = { Authorization: `Bearer ${key || session.key() || ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network', `the query API did not answer (${e.message})`);
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!response.ok) {
    const error = json && json.error;
    throw new ApiError(response.status, error ? error.code : 'http_' + response.status,
      error ? error.message : `${response.status} ${response.statusText}`);
  }
  return json;
}

export const api = {
  get: (path, params, key) => call('GET', path, { params, key }),
  post: (path, body) => call('POST', path, { body }),
};
