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

async function call(method, path, { params, body, key, file, blob } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = { Authorization: `Bearer ${key || session.key() || ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (file !== undefined) headers['Content-Type'] = 'application/x-tar';
  let response;
  try {
    response = await fetch(url, { method, headers, body: file !== undefined ? file : body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network', `the query API did not answer (${e.message})`);
  }
  if (blob && response.ok) {
    const named = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') || '');
    return { blob: await response.blob(), name: named ? named[1] : 'export.tar', sha256: response.headers.get('X-Logwarden-Bundle-Sha256') };
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
  /** A JSON body answered as a file: { blob, name, sha256 }. */
  postForFile: (path, body) => call('POST', path, { body, blob: true }),
  /** A file (a File or Blob) as the body, answered as JSON. */
  upload: (path, file) => call('POST', path, { file }),
};
