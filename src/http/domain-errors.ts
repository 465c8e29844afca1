import { AlreadyExistsError, DomainError, ExpiredLinkError, InvalidLinkError, ValidationError } from '../core/errors.ts';
import { AppError, conflict, expiredToken, invalid, invalidToken } from '../errors.ts';

/** The HTTP answer to a domain error: the same statuses, codes and messages the API has always used. */
export function appErrorOf(err: DomainError): AppError {
  if (err instanceof ValidationError) return invalid(err.message, err.fields);
  if (err instanceof InvalidLinkError) return invalidToken();
  if (err instanceof ExpiredLinkError) return expiredToken();
  if (err instanceof AlreadyExistsError) return conflict(err.message);
  return new AppError(500, 'internal', 'Internal server error.');
}

/** An AppError as is, a domain error mapped by appErrorOf, anything else null. */
export function asAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (err instanceof DomainError) return appErrorOf(err);
  return null;
}
