/** Environment variables, read through one helper that names what is missing. */
import { ConfigError } from './errors';

/** The value of an environment variable; throws ConfigError naming it when it is unset or empty. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`environment variable ${name} is not set (required)`);
  }
  return value;
}

/** The value of an environment variable, or `fallback` when it is unset or empty. */
export function optionalEnv(name: string): string | undefined;
export function optionalEnv(name: string, fallback: string, env?: NodeJS.ProcessEnv): string;
export function optionalEnv(name: string, fallback: string | undefined, env?: NodeJS.ProcessEnv): string | undefined;
export function optionalEnv(name: string, fallback?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : value;
}
