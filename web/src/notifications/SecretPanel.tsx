import { useEffect, useRef, useState } from "react";
import type { SubscriptionWithSecret } from "../api/notifications";
import { DateText } from "../components/DateText";

export interface ShownSecret {
  subscription: SubscriptionWithSecret;
  /** Made with a new subscription, or by rotating an existing one's. */
  reason: "created" | "rotated";
}

type Copied = "idle" | "copied" | "failed";

/**
 * A signing secret, shown this once (the API never shows it again): a copy button and how to
 * verify what simgate sends with it. Takes focus when it appears, so it is seen and heard.
 */
export function SecretPanel({ shown, onDismiss }: { shown: ShownSecret; onDismiss: () => void }) {
  const { subscription, reason } = shown;
  const ref = useRef<HTMLElement>(null);
  const value = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<Copied>("idle");

  useEffect(() => {
    setCopied("idle");
    ref.current?.focus();
    ref.current?.scrollIntoView({ block: "nearest" });
  }, [subscription]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(subscription.secret);
      setCopied("copied");
    } catch {
      // No clipboard here (an insecure page, or refused): select it for the user to copy.
      const range = document.createRange();
      if (value.current) range.selectNodeContents(value.current);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
      setCopied("failed");
    }
  };

  return (
    <section ref={ref} className="panel secret-panel" aria-labelledby="secret-heading" tabIndex={-1}>
      <h2 id="secret-heading">{reason === "created" ? "Subscription added: its signing secret" : "New signing secret"}</h2>
      <p>
        For <span className="subscription-url">{subscription.url}</span>. This secret is <strong>shown only now</strong>:
        copy it and keep it where your receiver can read it.
      </p>
      <div className="secret-row">
        <span className="visually-hidden">Signing secret: </span>
        <code ref={value} className="secret-value">
          {subscription.secret}
        </code>
        <button type="button" className="button button-primary button-small" onClick={() => void copy()}>
          Copy secret
        </button>
      </div>
      <p className="secret-copied" role="status">
        {copied === "copied" ? "Copied to the clipboard." : copied === "failed" ? "Could not copy: the secret is selected, copy it with Ctrl+C (⌘C)." : ""}
      </p>
      {reason === "rotated" && subscription.previous_secret_expires && (
        <p>
          The old secret keeps signing beside this one until <DateText value={subscription.previous_secret_expires} />:
          until then <code>webhook-signature</code> carries both signatures, space-separated.
        </p>
      )}
      <div className="secret-hint">
        <p>
          <strong>Verifying a request.</strong> Events are signed as{" "}
          <a href="https://www.standardwebhooks.com/" target="_blank" rel="noreferrer">
            Standard Webhooks
          </a>{" "}
          v1: each POST carries <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code>{" "}
          (<code>v1,</code> and the base64 HMAC-SHA256 of <code>id.timestamp.body</code>, keyed with the secret's bytes
          after <code>whsec_</code>). Check it with a Standard Webhooks library, refuse old timestamps, and use{" "}
          <code>webhook-id</code> to ignore repeats.
        </p>
      </div>
      <div className="form-actions">
        <span className="spacer" />
        <button type="button" className="button button-secondary" onClick={onDismiss}>
          I have kept it
        </button>
      </div>
    </section>
  );
}
