//! Who an arrival alert can actually reach: of the alerts queued for an arrival, those
//! whose channel this server delivers and whose recipient is known. What the kiosk
//! tells the visitor ("your host has been notified", "reception has been told", "please
//! go to the desk") follows from it, never from the mere fact that rows were queued.

use crate::notification::Channel;

/// The channels this server delivers (a queued message of another channel waits until
/// one is configured, so it tells nobody anything now).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliverable {
    /// A mail transport is configured (SMTP or files).
    pub email: bool,
    /// The HTTP channels (Slack, Teams, Chatwork, webhooks) are delivered; each still
    /// needs the tenant's or site's own settings before anything is queued for it.
    pub chat: bool,
}

impl Deliverable {
    /// Whether messages of `channel` leave this server.
    pub fn delivers(self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email,
            Channel::Slack | Channel::Teams | Channel::Chatwork | Channel::Webhook => self.chat,
        }
    }
}

/// For whom an arrival alert is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The host (or their delegate while away), directly or through the channels the
    /// tenant or site set up for arrival alerts.
    Host,
    /// The site's reception contacts.
    Reception,
}

/// One queued arrival alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Its channel.
    pub channel: Channel,
    /// Whom it is meant for.
    pub audience: Audience,
    /// Whether it has somewhere to go (e.g. an e-mail address that is not empty).
    pub addressed: bool,
}

/// Whom an arrival's alerts reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// At least one alert meant for the host goes out on a delivered channel.
    pub host: bool,
    /// At least one alert meant for reception goes out on a delivered channel.
    pub reception: bool,
}

/// What the kiosk may tell the visitor after a check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// "We have let your host know."
    Host,
    /// "We could not reach your host; reception has been told — please wait at the desk."
    Reception,
    /// "Please go to the reception desk": nobody could be told.
    Desk,
}

impl Reach {
    /// Whom `targets` reach when this server delivers `deliverable`.
    pub fn of(targets: &[Target], deliverable: Deliverable) -> Self {
        let reaches = |audience: Audience| {
            targets
                .iter()
                .any(|t| t.audience == audience && t.addressed && deliverable.delivers(t.channel))
        };
        Self {
            host: reaches(Audience::Host),
            reception: reaches(Audience::Reception),
        }
    }

    /// What the visitor is told.
    pub fn told(self) -> Told {
        match (self.host, self.reception) {
            (true, _) => Told::Host,
            (false, true) => Told::Reception,
            (false, false) => Told::Desk,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(channel: Channel, audience: Audience) -> Target {
        Target {
            channel,
            audience,
            addressed: true,
        }
    }

    const MAIL_ONLY: Deliverable = Deliverable {
        email: true,
        chat: false,
    };
    const CHAT_ONLY: Deliverable = Deliverable {
        email: false,
        chat: true,
    };

    #[test]
    fn nothing_queued_reaches_nobody_and_sends_the_visitor_to_the_desk() {
        let reach = Reach::of(&[], Deliverable::default());
        assert_eq!(reach, Reach::default());
        assert_eq!(reach.told(), Told::Desk);
    }

    #[test]
    fn mail_to_the_host_counts_only_with_a_mail_transport() {
        let queued = [t(Channel::Email, Audience::Host)];
        assert_eq!(Reach::of(&queued, MAIL_ONLY).told(), Told::Host);
        assert_eq!(Reach::of(&queued, CHAT_ONLY).told(), Told::Desk);
    }

    #[test]
    fn a_target_without_an_address_reaches_nobody() {
        let queued = [Target {
            addressed: false,
            ..t(Channel::Email, Audience::Host)
        }];
        assert!(!Reach::of(&queued, MAIL_ONLY).host);
    }

    #[test]
    fn reception_alone_is_told_when_the_hosts_channel_cannot_deliver() {
        let queued = [
            t(Channel::Email, Audience::Host),
            t(Channel::Slack, Audience::Reception),
        ];
        let reach = Reach::of(&queued, CHAT_ONLY);
        assert_eq!(
            reach,
            Reach {
                host: false,
                reception: true
            }
        );
        assert_eq!(reach.told(), Told::Reception);
        let both = Reach::of(
            &queued,
            Deliverable {
                email: true,
                chat: true,
            },
        );
        assert_eq!(both.told(), Told::Host);
    }

    #[test]
    fn every_chat_channel_follows_the_chat_flag() {
        for channel in [
            Channel::Slack,
            Channel::Teams,
            Channel::Chatwork,
            Channel::Webhook,
        ] {
            assert!(CHAT_ONLY.delivers(channel) && !MAIL_ONLY.delivers(channel));
        }
        assert!(MAIL_ONLY.delivers(Channel::Email) && !CHAT_ONLY.delivers(Channel::Email));
    }
}
