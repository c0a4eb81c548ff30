// The tenant API on the console's own origin, with the key of this browser tab.
import { t } from "./i18n.js";

const KEY = "mailgate.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
  onRefused: () => {},
};

export async function request(method, path, body, key = session.key()) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", t("err.network"));
  }
  if (!response.ok) {
    let code = "http_error";
    let message = `${response.status} ${response.statusText}`;
    try {
      const answer = await response.json();
      ({ code, message } = answer.error);
    } catch {
      // not the API's error shape (a proxy's page): the status line says what happened
    }
    if (response.status === 401) session.onRefused(message);
    throw new ApiError(response.status, code, message);
  }
  return response;
}

export async function call(method, path, body) {
  const response = await request(method, path, body);
  return { data: await response.json(), headers: response.headers, status: response.status };
}
