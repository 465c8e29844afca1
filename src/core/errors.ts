/**
 * The errors core throws: named domain facts, no HTTP status. src/http/domain-errors.ts maps each one
 * onto the API's error shape; the CLI and the workers read the message.
 */

/** Base of every domain error, so adapters can tell them from bugs and outages. */
export abstract class DomainError extends Error {}

/** Input that breaks a domain rule; `fields` names each bad field (field → short reason). */
export class ValidationError extends DomainError {
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
  }
}

/** Topic slugs that name no topic: the caller's (or the configuration's) mistake, not the data's. */
export class UnknownTopicError extends ValidationError {
  override name = 'UnknownTopicError';
  constructor(
    readonly slugs: string[],
    message = `Unknown topic: ${slugs.join(', ')}.`,
  ) {
    super(message, { topics: `unknown topic: ${slugs.join(', ')}` });
  }
}

/** A subscription or preferences change that names no topic at all. */
export class NoTopicChosenError extends ValidationError {
  override name = 'NoTopicChosenError';
  constructor() {
    super('Choose at least one topic.', { topics: 'choose at least one topic' });
  }
}

/** A link token that is malformed, tampered with, revoked, or whose subscriber or consent is gone. */
export class InvalidLinkError extends DomainError {
  override name = 'InvalidLinkError';
  constructor() {
    super('This link is invalid.');
  }
}

/** A link token whose validity has ended. */
export class ExpiredLinkError extends DomainError {
  override name = 'ExpiredLinkError';
  constructor() {
    super('This link has expired.');
  }
}

/** The thing to create exists already (e.g. an operator with the same address). */
export class AlreadyExistsError extends DomainError {
  override name = 'AlreadyExistsError';
}
